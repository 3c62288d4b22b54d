#pragma once
// A small, strict command-line parser: `--key value`, `--key=value` and boolean `--flag`.
// Unknown options are errors (a typo must never be silently ignored).
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace bb::cli {

class Args {
 public:
  // `options` take a value, `flags` do not. Throws bb::Error on unknown or malformed options.
  Args(const std::vector<std::string>& argv, const std::set<std::string>& options,
       const std::set<std::string>& flags = {});

  bool has(const std::string& name) const;  // option given or flag set
  std::optional<std::string> get(const std::string& name) const;
  std::string get_or(const std::string& name, const std::string& fallback) const;
  std::string require(const std::string& name) const;  // throws "missing --name"
  int get_int(const std::string& name, int fallback) const;
  double get_double(const std::string& name, double fallback) const;
  // Comma-separated list, e.g. `--length 1024,2048`.
  std::vector<std::string> get_list(const std::string& name, const std::vector<std::string>& fallback) const;
  const std::vector<std::string>& positional() const { return positional_; }
  bool help() const { return help_; }

 private:
  std::map<std::string, std::string> values_;
  std::set<std::string> flags_set_;
  std::vector<std::string> positional_;
  bool help_ = false;
};

}  // namespace bb::cli
