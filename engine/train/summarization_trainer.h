#pragma once
// Fine-tuning for summarization (run_training dispatches --task summarize here): BigBird-Pegasus on
// JSONL (document, summary) pairs as a TrainingTask of the shared loop (training_loop.h), with the
// trainer's contract: deterministic data order, gradient accumulation, clipping, AdamW /
// AdamWeightDecay with the schedule, evaluation (loss, token accuracy, ROUGE-1/2/L of greedy
// summaries) every N steps, atomic checkpoints with exact resume, and the final model exported in HF
// layout with the tokenizer. Dropout is not applied (see pegasus_train_step.h); gradient
// checkpointing is not available for Pegasus.
#include "engine/train/trainer.h"

namespace bb::train {

TrainingSummary run_summarization_training(const TrainerConfig& config, const TrainerControl& control);

}  // namespace bb::train
