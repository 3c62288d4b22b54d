#pragma once
// Evaluation of a BigBird-Pegasus model being fine-tuned for summarization (internal to the
// summarization trainer): teacher-forced loss and token accuracy over the evaluation examples, and
// ROUGE-1/2/L (F-measure x 100) of greedy summaries (engine/generate) of the first few of them
// against the reference text, plus the share whose generated tokens equal the target exactly.
#include <map>
#include <string>
#include <vector>

#include "engine/tokenize/tokenizer.h"
#include "engine/train/data/summarization_examples.h"
#include "engine/train/trainable_pegasus.h"
#include "engine/train/trainer.h"

namespace bb::train {

std::map<std::string, double> evaluate_summarization(TrainablePegasus& model, const std::vector<SummaryExample>& eval,
                                                     const tok::Tokenizer& tokenizer, const TrainerConfig& c);

}  // namespace bb::train
