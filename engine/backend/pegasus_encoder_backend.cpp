#include "engine/backend/pegasus_encoder_backend.h"

#include "engine/backend/vulkan/vk_error.h"
#include "engine/backend/vulkan/vk_runtime.h"
#include "engine/backend/vulkan_fallback.h"
#include "engine/backend/vulkan/vulkan_pegasus_encoder.h"

namespace bb::backend {

PegasusEncoderBackend::PegasusEncoderBackend() = default;
PegasusEncoderBackend::~PegasusEncoderBackend() = default;

PegasusEncoding PegasusEncoderBackend::run(const Selection& sel, const PegasusWeights& weights,
                                           const ModelConfig& config, const int64_t* ids, const float* mask,
                                           int64_t batch, int64_t len, const PegasusEncodeOptions& opt) {
  auto on_cpu = [&](const std::string& used) {
    PegasusEncoding e = run_pegasus_encoder(weights, config, ids, mask, batch, len, opt);
    e.backend = used;
    return e;
  };
  if (sel.kind == Kind::Cpu) return on_cpu("cpu");
  if (opt.capture.enabled) {
    cpu_only(sel.kind, "attention capture of the BigBird-Pegasus encoder");
    return on_cpu("cpu");
  }
  std::string reason;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const std::string key = to_string(sel.kind) + "|" + sel.device;
    if (key != vulkan_key_) {
      vulkan_.reset();
      disabled_reason_.clear();
      vulkan_key_ = key;
    }
    if (disabled_reason_.empty()) {
      std::shared_ptr<vk::Device> device;
      try {
        if (!vulkan_) {
          device = acquire_selected_device(sel);
          vulkan_ = std::make_unique<vk::VulkanPegasusEncoder>(device, weights, config);
        }
        PegasusEncoding e = vulkan_->run(weights, ids, mask, batch, len, opt);
        e.backend = "vulkan (" + vulkan_->device()->info().name + ")";
        return e;
      } catch (const vk::VulkanError& e) {
        reason = fallback_after_failure(sel, e, vulkan_ ? vulkan_->device() : device);
        vulkan_.reset();
        disabled_reason_ = reason;
      }
    } else {
      reason = disabled_reason_;
    }
  }
  return on_cpu("cpu (fallback: " + reason + ")");
}

}  // namespace bb::backend
