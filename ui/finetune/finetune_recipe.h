#pragma once
// Default fine-tuning settings per task, taken from the BigBird recipes (bigbird-spec.md §7):
// classification and MLM from google-research/bigbird (AdamWeightDecay, no clipping, linear decay
// with warmup), QA from KoBigBird's fine-tuning scripts (AdamW 3e-5, clip 1.0, constant LR).
// Sequence lengths are capped by the model's position limit; warmup is a share of the run.
#include <cstdint>
#include <string>

#include "engine/models/config.h"
#include "engine/jobs/training_job.h"
#include "engine/train/trainer.h"
#include "engine/train/trainer_data.h"

namespace bb::ui {

struct FinetuneRecipe {
  train::Task task = train::Task::Classification;
  int64_t max_length = 4096;
  int64_t batch_size = 2;
  int64_t grad_accum = 1;
  double epochs = 3.0;
  double lr = 1e-5;
  double warmup_share = 0.0625;  // warmup steps / total steps (1000 of 16000 for IMDb)
  train::ScheduleKind schedule = train::ScheduleKind::Linear;
  train::OptimizerKind optimizer = train::OptimizerKind::AdamWeightDecay;
  double weight_decay = 0.01;
  double max_grad_norm = 0.0;  // 0: no clipping (as the original BigBird code)
  std::string source;          // where the numbers come from, shown as a tooltip
};

// `model` (may be null) caps max_length at max_position_embeddings.
FinetuneRecipe recipeFor(train::Task task, const ModelConfig* model);

// Warmup steps for a run of `total_steps`.
int64_t warmupSteps(double share, int64_t total_steps);

}  // namespace bb::ui
