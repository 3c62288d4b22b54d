#pragma once
// Evaluation of a model on the task's held-out examples (internal to the trainer): loss plus the
// task metrics (metrics.h). Dropout off; batches of the training batch size.
#include <map>
#include <string>

#include "engine/train/trainable_bigbird.h"
#include "engine/train/trainer.h"
#include "engine/train/trainer_data.h"

namespace bb::train {

std::map<std::string, double> evaluate(TrainableBigBird& model, const TaskData& data, const TrainerConfig& c);

}  // namespace bb::train
