#include "engine/backend/encoder_backend.h"

#include <cstdlib>

#include "engine/backend/vulkan/vk_error.h"
#include "engine/backend/vulkan/vk_runtime.h"
#include "engine/backend/vulkan_fallback.h"
#include "engine/backend/vulkan/vulkan_encoder.h"

namespace bb::backend {

EncoderBackend::EncoderBackend() = default;
EncoderBackend::~EncoderBackend() = default;

EncoderResult EncoderBackend::run(const Selection& sel, const BigBirdEncoderWeights& weights, const ModelConfig& config,
                                  const EncoderPass& pass, std::string* used) {
  if (sel.kind == Kind::Cpu) {
    if (used) *used = "cpu";
    return run_bigbird_encoder(weights, config, pass);
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
          vk::VulkanEncoderOptions eo;
          const char* fp16 = std::getenv("BIGBIRD_VK_FP16");
          eo.fp16_weights = fp16 && std::string(fp16) == "1";
          vulkan_ = std::make_unique<vk::VulkanEncoder>(device, weights, config, eo);
        }
        EncoderResult r = vulkan_->run(pass);
        if (used) *used = "vulkan (" + vulkan_->device()->info().name + ")";
        return r;
      } catch (const vk::VulkanError& e) {
        reason = fallback_after_failure(sel, e, vulkan_ ? vulkan_->device() : device);
        vulkan_.reset();
        disabled_reason_ = reason;
      }
    } else {
      reason = disabled_reason_;
    }
  }
  if (used) *used = "cpu (fallback: " + reason + ")";
  return run_bigbird_encoder(weights, config, pass);
}

}  // namespace bb::backend
