#include "engine/train/step_runner.h"

namespace bb::train {

OptimizerStepResult run_host_step(ParameterStore& params, ParameterStore& grads, const std::set<std::string>& frozen,
                                  const std::function<void()>& zero_grads, Optimizer& optimizer, int64_t micro_batches,
                                  double lr, double max_grad_norm, const std::function<bool()>& cancelled,
                                  const std::function<MicroBatchResult(int64_t micro)>& micro_batch) {
  OptimizerStepResult res;
  zero_grads();
  for (int64_t micro = 0; micro < micro_batches; ++micro) {
    if (micro > 0 && cancelled && cancelled()) {
      res.cancelled = true;
      return res;  // the partial accumulation is dropped: the model is as after the last full step
    }
    const MicroBatchResult r = micro_batch(micro);
    res.loss += r.loss / double(micro_batches);
    res.tokens += r.tokens;
  }
  res.grad_norm = clip_grad_norm(grads, max_grad_norm, frozen);
  optimizer.step(params, grads, lr, frozen);
  return res;
}

OptimizerStepResult run_step_on_cpu(const OptimizerStep& st) {
  TrainableBigBird& model = *st.model;
  StepOptions so = st.options;
  attn::AttentionDecision decision;
  int64_t saved_activation_bytes = 0;
  OptimizerStepResult res = run_host_step(
      model.params(), model.grads(), model.unused_parameters(), [&] { model.zero_grads(); }, *st.optimizer,
      st.micro_batches, st.lr, st.max_grad_norm, st.cancelled, [&](int64_t micro) {
        so.micro_batch = uint64_t(micro);
        const StepResult r = forward_backward(model, st.batch(micro), so);
        decision = r.decision;
        saved_activation_bytes = r.saved_activation_bytes;
        return MicroBatchResult{r.head.loss, r.tokens};
      });
  res.decision = decision;  // of the last micro-batch
  res.saved_activation_bytes = saved_activation_bytes;
  return res;
}

}  // namespace bb::train
