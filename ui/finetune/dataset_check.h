#pragma once
// Validates a fine-tuning dataset exactly as the trainer will read it (the engine's loaders, so the
// errors are the engine's one-line messages naming file:line and the reason) and keeps a preview of
// its first rows. Runs on a worker thread: tokenizing a large file takes a while.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/jobs/training_job.h"
#include "engine/train/trainer.h"
#include "engine/train/trainer_data.h"

namespace bb::ui {

struct DatasetCheck {
  std::string error;  // empty when the dataset is usable
  std::vector<std::string> columns;            // preview header
  std::vector<std::vector<std::string>> rows;  // first rows, long texts shortened
  int64_t trainExamples = 0, evalExamples = 0;
  double meanTokens = 0;            // mean tokenized length of the training examples
  std::vector<std::string> labels;  // classification label set
  bool ok() const { return error.empty(); }
};

constexpr int kPreviewRows = 8;

// Never throws: a failure becomes DatasetCheck::error.
DatasetCheck checkDataset(const train::TrainerConfig& config);

}  // namespace bb::ui
