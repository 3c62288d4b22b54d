#pragma once
// `bigbird bench --train`: the training-step benchmark (bench_command.cpp dispatches here).
#include <string>
#include <vector>

namespace bb::cli {

extern const char* kBenchTrainUsage;
int run_bench_train(const std::vector<std::string>& argv);

}  // namespace bb::cli
