#include "engine/backend/train_backend.h"

#include <cstring>
#include <map>

#include "engine/backend/vulkan/vk_device.h"
#include "engine/backend/vulkan/vk_error.h"
#include "engine/backend/vulkan/vulkan_trainer.h"
#include "engine/backend/vulkan_fallback.h"

namespace bb::backend {

namespace {

// Copies the device's parameters (or gradients) into `store` only once all of them arrived, so a
// failure part-way leaves the host state untouched.
void download_all(vk::VulkanTrainer& t, ParameterStore& store, bool grads) {
  ParameterStore tmp;
  for (const std::string& n : store.names()) tmp.set(n, Tensor::uninitialized(store.get(n).shape()));
  if (grads)
    t.download_grads(tmp);
  else
    t.download_params(tmp);
  for (const std::string& n : store.names()) {  // in place: the model's weight pointers stay valid
    Tensor& dst = store.mutable_get(n);
    std::memcpy(dst.data(), tmp.get(n).data(), sizeof(float) * size_t(dst.numel()));
  }
}

class VulkanStepRunner : public train::StepRunner {
 public:
  explicit VulkanStepRunner(Selection sel) : sel_(std::move(sel)) {}

  train::OptimizerStepResult run(const train::OptimizerStep& st) override {
    if (disabled_.empty()) {
      std::shared_ptr<vk::Device> device;
      try {
        return run_on_device(st, device);
      } catch (const vk::VulkanError& e) {
        disabled_ = fallback_after_failure(sel_, e, trainer_ ? trainer_->device() : device);
        trainer_.reset();
      }
    }
    train::OptimizerStepResult res = train::run_step_on_cpu(st);  // from the host state of the previous step
    res.ran_on = "cpu (fallback: " + disabled_ + ")";
    return res;
  }

 private:
  train::OptimizerStepResult run_on_device(const train::OptimizerStep& st, std::shared_ptr<vk::Device>& device) {
    train::TrainableBigBird& model = *st.model;
    if (!trainer_) {
      device = acquire_selected_device(sel_);
      trainer_ = std::make_unique<vk::VulkanTrainer>(device, model);
      trainer_->restore_optimizer_state(st.optimizer->steps(), st.optimizer->m(), st.optimizer->v());
    }
    train::OptimizerStepResult res;
    trainer_->zero_grads();
    train::StepOptions so = st.options;
    for (int64_t micro = 0; micro < st.micro_batches; ++micro) {
      if (micro > 0 && st.cancelled && st.cancelled()) {
        // The device moments and parameters are unchanged; its gradients are zeroed next step.
        res.cancelled = true;
        return res;
      }
      so.micro_batch = uint64_t(micro);
      const train::StepResult r = trainer_->forward_backward(model, st.batch(micro), so);
      res.loss += r.head.loss / double(st.micro_batches);
      res.tokens += r.tokens;
      res.decision = r.decision;
      res.saved_activation_bytes = r.saved_activation_bytes;
    }
    res.grad_norm = trainer_->clip_and_step(st.optimizer->config(), st.lr, st.max_grad_norm, model.unused_parameters());
    // Back to the host: parameters, then the moments (all downloaded before any is replaced).
    std::map<std::string, Tensor> m, v;
    trainer_->download_optimizer_state(m, v);
    download_all(*trainer_, model.params(), false);
    st.optimizer->restore(trainer_->optimizer_steps(), std::move(m), std::move(v));
    res.ran_on = "vulkan (" + trainer_->device()->info().name + ")";
    return res;
  }

  Selection sel_;
  std::unique_ptr<vk::VulkanTrainer> trainer_;
  std::string disabled_;  // the fallback reason once Vulkan failed: later steps stay on the CPU
};

}  // namespace

train::StepResult forward_backward(const Selection& sel, train::TrainableBigBird& m, const train::TrainBatch& batch,
                                   const train::StepOptions& options, std::string* used) {
  if (sel.kind == Kind::Cpu) {
    if (used) *used = "cpu";
    return train::forward_backward(m, batch, options);
  }
  std::shared_ptr<vk::Device> device;
  std::string reason;
  try {
    device = acquire_selected_device(sel);
    vk::VulkanTrainer t(device, m);
    train::StepResult r = t.forward_backward(m, batch, options);
    download_all(t, m.grads(), true);
    if (used) *used = "vulkan (" + device->info().name + ")";
    return r;
  } catch (const vk::VulkanError& e) {
    reason = fallback_after_failure(sel, e, device);
  }
  if (used) *used = "cpu (fallback: " + reason + ")";
  return train::forward_backward(m, batch, options);
}

std::unique_ptr<train::StepRunner> make_train_step_runner(const Selection& sel) {
  if (sel.kind == Kind::Cpu) return std::make_unique<train::CpuStepRunner>();
  return std::make_unique<VulkanStepRunner>(sel);
}

}  // namespace bb::backend
