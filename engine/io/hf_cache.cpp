#include "engine/io/hf_cache.h"

#include <cstdlib>
#include <filesystem>
#include <regex>

#include "engine/core/error.h"
#include "engine/io/atomic_file.h"

namespace bb::io {

namespace fs = std::filesystem;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}

}  // namespace

std::optional<RepoRef> parse_repo_ref(const std::string& s) {
  // HF repo ids: [org/]name, each part of letters, digits, '-', '_', '.', not starting with '.'.
  static const std::regex id(R"(^([A-Za-z0-9][A-Za-z0-9_.\-]{0,95}/)?[A-Za-z0-9][A-Za-z0-9_.\-]{0,95}(@[A-Za-z0-9_.\-/]{1,255})?$)");
  if (!std::regex_match(s, id) || s.find("..") != std::string::npos) return std::nullopt;
  RepoRef r;
  const size_t at = s.find('@');
  r.repo = s.substr(0, at);
  if (at != std::string::npos) r.revision = s.substr(at + 1);
  return r;
}

bool is_commit_hash(const std::string& s) {
  if (s.size() != 40) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string hf_home_dir() {
  if (const std::string h = env("HF_HOME"); !h.empty()) return h;
  if (const std::string x = env("XDG_CACHE_HOME"); !x.empty()) return x + "/huggingface";
  return env("HOME") + "/.cache/huggingface";
}

std::string hf_hub_cache_dir() {
  if (const std::string c = env("HF_HUB_CACHE"); !c.empty()) return c;
  if (const std::string c = env("HUGGINGFACE_HUB_CACHE"); !c.empty()) return c;
  return hf_home_dir() + "/hub";
}

std::optional<std::string> hf_token() {
  if (const std::string t = trim(env("HF_TOKEN")); !t.empty()) return t;
  std::string path = env("HF_TOKEN_PATH");
  if (path.empty()) path = hf_home_dir() + "/token";
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return std::nullopt;
  const std::string t = trim(read_text_file(path));
  if (t.empty()) return std::nullopt;
  return t;
}

std::string repo_cache_dir(const std::string& cache, const std::string& repo) {
  std::string name = "models--";
  for (char c : repo) name += c == '/' ? std::string("--") : std::string(1, c);
  return cache + "/" + name;
}

std::string resolve_cached_snapshot(const RepoRef& ref, const std::string& cache) {
  const std::string dir = repo_cache_dir(cache, ref.repo);
  const std::string what = ref.repo + "@" + ref.revision;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error(ref.repo + " is not in the Hugging Face cache (" + cache + "); download it with: bigbird pull " + what);
  std::string commit = ref.revision;
  if (!is_commit_hash(commit)) {
    const std::string refs = dir + "/refs/" + ref.revision;
    if (!fs::is_regular_file(refs, ec))
      throw Error(what + ": revision is not in the Hugging Face cache (no " + refs + "); download it with: bigbird pull " + what);
    commit = trim(read_text_file(refs));
    if (!is_commit_hash(commit)) throw Error(refs + ": does not hold a commit hash");
  }
  const std::string snap = dir + "/snapshots/" + commit;
  if (!fs::is_directory(snap, ec)) throw Error(what + ": snapshot " + snap + " is missing from the cache; run: bigbird pull " + what);
  return snap;
}

}  // namespace bb::io
