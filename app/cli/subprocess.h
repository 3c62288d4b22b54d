#pragma once
// Runs a child process and captures its output (used by `bigbird bench` to measure each
// configuration in a fresh process, and to run the PyTorch reference side by side).
#include <map>
#include <string>
#include <vector>

namespace bb::cli {

struct ProcessResult {
  int exit_code = -1;  // -1 when the process could not start; 128+signal when killed
  std::string out, err;
};

ProcessResult run_process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {});

std::string self_executable();  // absolute path of the running bigbird binary

}  // namespace bb::cli
