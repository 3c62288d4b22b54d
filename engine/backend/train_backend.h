#pragma once
// BigBird training on the chosen backend with encoder_backend.cpp's fallback rules: any
// vk::VulkanError (no device, failed self-test, unsupported work, out of memory, device lost,
// non-finite numbers) prints one notice and the work reruns on the CPU from the host state, which a
// failed Vulkan attempt never touches; later steps stay on the CPU. Errors that are not the
// device's (bad labels, bad settings) propagate unchanged.
#include <memory>
#include <string>

#include "engine/backend/encoder_backend.h"  // Selection
#include "engine/train/step_runner.h"
#include "engine/train/train_step.h"

namespace bb::backend {

// `bigbird grad`: train::forward_backward on `sel`; the gradients land in m.grads() (accumulated,
// as on the CPU). `used` (optional): "cpu", "vulkan (<device>)" or "cpu (fallback: <reason>)".
train::StepResult forward_backward(const Selection& sel, train::TrainableBigBird& m, const train::TrainBatch& batch,
                                   const train::StepOptions& options, std::string* used = nullptr);

// The trainer's step runner for `sel` (TrainerConfig::make_step_runner). On Vulkan the parameters,
// gradients and optimizer moments live on the device; after every step the parameters and moments
// are copied back to the host model and optimizer (so evaluation, checkpoints, export and a CPU
// fallback continue from the exact state), the gradients never are.
std::unique_ptr<train::StepRunner> make_train_step_runner(const Selection& sel);

}  // namespace bb::backend
