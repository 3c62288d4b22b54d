#pragma once
// `bigbird bench --summarize`: the summarization benchmark (bench_command.cpp dispatches here).
#include <string>
#include <vector>

namespace bb::cli {

extern const char* kBenchSummarizeUsage;
int run_bench_summarize(const std::vector<std::string>& argv);

}  // namespace bb::cli
