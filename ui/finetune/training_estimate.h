#pragma once
// What a fine-tuning run will cost before it starts: optimizer steps, time and peak memory, from the
// engine's analytic FLOP count (engine/models/cost_model) and the parameter manifest. Time assumes a
// fixed CPU throughput per thread (stated in the text); once the run starts, the trainer's measured
// ETA replaces it.
#include <cstdint>
#include <string>

#include "engine/models/config.h"
#include "engine/jobs/training_job.h"
#include "engine/train/trainer.h"
#include "engine/train/trainer_data.h"

namespace bb::ui {

struct TrainingEstimate {
  int64_t steps = 0;
  int64_t tokensPerExample = 0;  // padded length used for the estimate
  double flopsPerStep = 0;
  double seconds = 0;
  double peakBytes = 0;
  int64_t parameters = 0;
  std::string text;  // one line for the dashboard
};

constexpr double kAssumedGflopsPerThread = 8.0;  // fp32 GEMM-bound training on one ordinary CPU core

// trainExamples / meanTokens come from the dataset check; threads <= 0 means all cores.
TrainingEstimate estimateTraining(const ModelConfig& model, const train::TrainerConfig& c, int64_t trainExamples,
                                  double meanTokens, int threads);

std::string formatRunTime(double seconds);  // "45 s", "12 min", "3.4 h", "2.1 days"

}  // namespace bb::ui
