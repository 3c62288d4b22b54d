#pragma once
// Where one optimizer step runs: zero the gradients, forward + backward over the micro-batches
// (accumulating), clip, update. The trainer calls a StepRunner; the CPU one is the reference, and the
// Vulkan backend installs its own (engine/backend/train_backend.h) through TrainerConfig. After run()
// returns, the model's parameters and the optimizer's state on the host are those after the step
// (a runner that keeps them elsewhere copies them back), so evaluation, checkpoints and export read
// the host model as they always do.
#include <cstdint>
#include <functional>
#include <set>
#include <string>

#include "engine/train/optimizer.h"
#include "engine/train/train_step.h"
#include "engine/train/trainable_bigbird.h"

namespace bb::train {

struct OptimizerStep {
  TrainableBigBird* model = nullptr;
  Optimizer* optimizer = nullptr;
  int64_t micro_batches = 1;
  std::function<TrainBatch(int64_t micro)> batch;  // the micro-batch's data (collated, masked)
  StepOptions options;                             // step, grad_scale...; micro_batch set per micro-batch
  double lr = 0.0, max_grad_norm = 1.0;
  std::function<bool()> cancelled;  // checked before every micro-batch after the first
};

struct OptimizerStepResult {
  double loss = 0.0;  // mean over micro-batches
  double grad_norm = 0.0;
  int64_t tokens = 0;
  bool cancelled = false;              // stopped between micro-batches: no update, the model is unchanged
  attn::AttentionDecision decision;    // of the last micro-batch
  int64_t saved_activation_bytes = 0;  // of the last micro-batch
  std::string ran_on = "cpu";          // "cpu", "vulkan (<device>)" or "cpu (fallback: <reason>)"
};

class StepRunner {
 public:
  virtual ~StepRunner() = default;
  virtual OptimizerStepResult run(const OptimizerStep& step) = 0;
};

// The reference: train::forward_backward, clip_grad_norm and Optimizer::step on the host.
OptimizerStepResult run_step_on_cpu(const OptimizerStep& step);

// One micro-batch's forward + backward of any model family (gradients accumulate in its store).
struct MicroBatchResult {
  double loss = 0.0;
  int64_t tokens = 0;
};

// The host optimizer step of any model family: zero_grads(), micro_batch(0..n-1) with `cancelled`
// checked before every one after the first (a cancelled step returns without an update), clip the
// gradients, update the parameters; `frozen` names tensors that have no gradient and never change.
// Fills loss (mean over micro-batches), tokens, grad_norm and cancelled.
OptimizerStepResult run_host_step(ParameterStore& params, ParameterStore& grads, const std::set<std::string>& frozen,
                                  const std::function<void()>& zero_grads, Optimizer& optimizer, int64_t micro_batches,
                                  double lr, double max_grad_norm, const std::function<bool()>& cancelled,
                                  const std::function<MicroBatchResult(int64_t micro)>& micro_batch);

class CpuStepRunner : public StepRunner {
 public:
  OptimizerStepResult run(const OptimizerStep& step) override { return run_step_on_cpu(step); }
};

}  // namespace bb::train
