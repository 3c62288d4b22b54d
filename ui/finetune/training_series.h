#pragma once
// The numbers a fine-tuning run has produced so far, per optimizer step: what the dashboard's
// plots draw. Filled on the UI thread from the job's events; a resumed run first drops the points
// after the step it resumes from.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/jobs/training_job.h"
#include "engine/train/trainer.h"
#include "engine/train/trainer_data.h"

namespace bb::ui {

struct SeriesPoint {
  double step = 0, value = 0;
};

struct TrainingSeries {
  std::vector<SeriesPoint> loss, lr, throughput;    // tokens/s
  std::map<std::string, std::vector<SeriesPoint>> eval;  // eval_loss, eval_accuracy, ...
  int64_t totalSteps = 0;

  void add(const train::TrainingEvent& e);  // Step and Eval events; others ignored
  void truncateAfter(int64_t step);
  void clear();
  bool empty() const { return loss.empty() && eval.empty(); }
  std::string csv() const;  // step,loss,lr,tokens_per_s
};

}  // namespace bb::ui
