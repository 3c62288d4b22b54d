#pragma once
// The run's metrics log: <out>/metrics.jsonl (one JSON object per training step or evaluation,
// losses with full double precision) and <out>/metrics.csv (the same, one row per event, a fixed
// column set). On resume both are cut back to the checkpoint's step so the log continues seamlessly.
#include <cstdio>
#include <string>
#include <vector>

#include "engine/train/trainer.h"

namespace bb::train {

class MetricsLog {
 public:
  // eval_columns: the task's eval metric names, in CSV column order.
  MetricsLog(const std::string& out_dir, std::vector<std::string> eval_columns, int64_t resume_step);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;
  void write(const TrainingEvent& e);  // Step and Eval events; flushed at once

 private:
  std::string jsonl_path_, csv_path_;
  std::vector<std::string> eval_columns_;
  FILE* jsonl_ = nullptr;
  FILE* csv_ = nullptr;
};

}  // namespace bb::train
