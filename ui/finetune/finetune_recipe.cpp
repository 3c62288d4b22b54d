#include "ui/finetune/finetune_recipe.h"

#include <algorithm>
#include <cmath>

namespace bb::ui {

FinetuneRecipe recipeFor(train::Task task, const ModelConfig* model) {
  FinetuneRecipe r;
  r.task = task;
  switch (task) {
    case train::Task::Classification:  // [BB] classifier/base_size.sh + run_classifier.py flags
      r.max_length = 4096;
      r.batch_size = 2;
      r.lr = 1e-5;
      r.warmup_share = 1000.0 / 16000.0;
      r.source = "BigBird IMDb recipe: AdamWeightDecay, lr 1e-5, 1000 of 16000 steps warmup, no clipping, 4096 tokens";
      break;
    case train::Task::QuestionAnswering:  // [KB] finetune: AdamW 3e-5, eps 1e-8, wd 0, clip 1.0, constant LR
      r.max_length = 4096;
      r.batch_size = 2;
      r.grad_accum = 4;
      r.epochs = 5;
      r.lr = 3e-5;
      r.warmup_share = 0;
      r.schedule = train::ScheduleKind::Constant;
      r.optimizer = train::OptimizerKind::AdamW;
      r.weight_decay = 0;
      r.max_grad_norm = 1.0;
      r.source = "KoBigBird QA recipe: AdamW lr 3e-5, no weight decay, clip 1.0, constant LR, batch 2 x 4, 5 epochs";
      break;
    case train::Task::MaskedLM:  // [BB] pretrain/run_pretraining.py flags
      r.max_length = 512;
      r.batch_size = 8;
      r.lr = 1e-4;
      r.warmup_share = 0.1;
      r.source = "BigBird MLM recipe: AdamWeightDecay, lr 1e-4, 10% warmup, 512 tokens, 15% masking";
      break;
    case train::Task::Summarization:  // [BB] summarization: 3072 tokens, batch 2, 100 warmup of 1000 steps
      r.max_length = 3072;
      r.batch_size = 2;
      r.lr = 5e-5;
      r.warmup_share = 0.1;
      r.optimizer = train::OptimizerKind::AdamW;
      r.max_grad_norm = 1.0;
      r.source = "BigBird-Pegasus recipe: 3072 tokens, batch 2, 10% warmup; its Adafactor (lr 0.32) is not in the "
                 "engine, so AdamW lr 5e-5 as HF run_summarization";
      break;
  }
  if (model) r.max_length = std::min(r.max_length, model->max_position_embeddings);
  return r;
}

int64_t warmupSteps(double share, int64_t total_steps) {
  if (share <= 0 || total_steps <= 1) return 0;
  return std::min(total_steps - 1, int64_t(std::llround(share * double(total_steps))));
}

}  // namespace bb::ui
