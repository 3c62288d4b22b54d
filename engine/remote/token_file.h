#pragma once
// Runner tokens on disk: a token file holds one secret line and must be private to its owner
// (mode 0600); saved runner entries (URL + token + CA) live in one 0600 JSON file in the user's
// config directory: $BIGBIRD_CONFIG_DIR/runners.json, else xdg::app_config_dir()/runners.json
// (~/.config/bigbird-studio/runners.json).
#include <string>
#include <vector>

namespace bb::remote {

// Throws bb::Error when missing, empty, shorter than 16 characters or readable by group/others.
std::string read_token_file(const std::string& path);
// Writes a new random token (0600, refusing to replace an existing file); returns it.
std::string create_token_file(const std::string& path);

// Writes `text` to `path` with mode 0600 (temp file + rename; the directory is created 0700).
void write_private_file(const std::string& path, const std::string& text);

struct SavedRunner {
  std::string name, url, token, ca_cert;
};

std::string runners_file();
std::vector<SavedRunner> load_runners(const std::string& file = runners_file());
void save_runners(const std::vector<SavedRunner>& runners, const std::string& file = runners_file());
SavedRunner find_runner(const std::string& name, const std::string& file = runners_file());  // throws bb::Error

}  // namespace bb::remote
