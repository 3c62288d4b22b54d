#pragma once
// A BigBird training step on a Vulkan device: the same forward / loss / backward as
// train::forward_backward (engine/train/train_step.h) and the same optimizer update as
// train::Optimizer + clip_grad_norm, with the parameters, their gradients and the optimizer state
// living on the device. Parameters are uploaded once (at construction); gradients accumulate on the
// device and are downloaded only when asked (download_grads, for `bigbird grad`); parameters come
// back with download_params (checkpoints, evaluation on the CPU, the end of a run).
//
// Supported: the MLM, sequence-classification and QA heads, block_sparse and original_full attention,
// hidden / head / attention-probability dropout (masks drawn on the host with
// train::dropout_uniform, uploaded per step). Not on the device (VulkanError, so the caller reruns
// on the CPU): simulated_sparse attention.
// Device problems throw VulkanError; bad input throws bb::Error like the CPU path.
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/backend/vulkan/vk_device.h"
#include "engine/backend/vulkan/vk_memory.h"
#include "engine/backend/vulkan/vk_stream.h"
#include "engine/train/optimizer.h"
#include "engine/train/train_step.h"
#include "engine/train/trainable_bigbird.h"

namespace bb::vk {

class VulkanTrainer {
 public:
  // Runs the training-kernel checks on `device` (once per process), uploads m's parameters and its
  // current gradients. Throws VulkanError (unsupported head, limits, failed check, out of memory).
  VulkanTrainer(std::shared_ptr<Device> device, const train::TrainableBigBird& m);
  ~VulkanTrainer();

  // As train::forward_backward on m (its config, head and batch validation; m's host parameters are
  // not read: the device copy is the model). Gradients accumulate on the device.
  train::StepResult forward_backward(const train::TrainableBigBird& m, const train::TrainBatch& batch,
                                     const train::StepOptions& options, bool want_hidden = false);

  void zero_grads();
  // Every gradient / parameter into `store` (same names and shapes as the model's stores).
  void download_grads(ParameterStore& grads);
  void download_params(ParameterStore& params);

  // clip_grad_norm + Optimizer::step on the device: the global gradient norm (parameters in `skip`
  // left out), gradients scaled by max_norm / (norm + 1e-6) when above max_norm (max_norm <= 0: no
  // clipping), then one update with learning rate lr. Returns the norm before clipping. The step
  // count and m / v state are the trainer's (optimizer_steps()).
  double clip_and_step(const train::OptimizerConfig& config, double lr, double max_norm,
                       const std::set<std::string>& skip = {});
  double grad_norm(const std::set<std::string>& skip = {});
  int64_t optimizer_steps() const { return steps_; }
  // Optimizer state (m, v, step count) as train::Optimizer::restore takes it, or from it.
  void download_optimizer_state(std::map<std::string, Tensor>& m, std::map<std::string, Tensor>& v);
  void restore_optimizer_state(int64_t steps, const std::map<std::string, Tensor>& m,
                               const std::map<std::string, Tensor>& v);

  const std::shared_ptr<Device>& device() const { return device_; }

 private:
  struct Param {
    std::string name;
    Shape shape;
    int64_t n = 0;
    Buffer w, g, m, v;  // m / v allocated at the first optimizer step
  };
  train::HeadResult qa_head(Stream& s, const train::TrainableBigBird& m, const train::PaddedBatch& batch,
                            const train::TrainBatch& in, const train::DropoutSettings& drop, float grad_scale,
                            bool backward, const Buffer& hidden, const Buffer& dhidden, View ones);
  Param& param(const float* host_weight);
  View w(const float* host_weight);  // empty view for a null pointer
  View g(const float* host_weight);

  std::shared_ptr<Device> device_;
  ModelConfig config_;
  Head head_;
  std::vector<Param> params_;
  std::map<const float*, size_t> by_pointer_;  // host parameter or gradient -> params_ index
  int64_t steps_ = 0;
};

}  // namespace bb::vk
