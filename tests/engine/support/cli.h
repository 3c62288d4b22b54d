#pragma once
// Runs the real `bigbird` binary (BIGBIRD_CLI) with arguments and optional stdin, capturing exit
// code, stdout and stderr. Shared by every CLI contract test.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace bbtest {

struct CliResult {
  int code = -1;
  std::string out, err;
};

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') q.append("'\\''");
    else q.push_back(c);
  }
  q.push_back('\'');
  return q;
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline CliResult run_cli(const std::vector<std::string>& args, const std::string& stdin_text = "") {
  char tmpl[] = "/tmp/bigbird-cli-test-XXXXXX";
  const char* dir = ::mkdtemp(tmpl);
  if (!dir) std::abort();
  const std::string base = dir;
  std::ofstream(base + "/in", std::ios::binary) << stdin_text;
  std::string cmd = shell_quote(BIGBIRD_CLI);
  for (const auto& a : args) cmd.append(" ").append(shell_quote(a));
  cmd += " <" + shell_quote(base + "/in") + " >" + shell_quote(base + "/out") + " 2>" + shell_quote(base + "/err");
  const int status = std::system(cmd.c_str());
  CliResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(base + "/out");
  r.err = slurp(base + "/err");
  std::error_code ec;
  std::filesystem::remove_all(base, ec);
  return r;
}

// True when `err` is exactly one non-empty line.
inline bool one_line(const std::string& err) {
  return !err.empty() && err.back() == '\n' && err.find('\n') == err.size() - 1;
}

}  // namespace bbtest
