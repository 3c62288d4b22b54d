#pragma once
// Runs the BigBird-Pegasus encoder on the chosen backend and owns the device-side copy of one
// model's encoder weights (uploaded on the first Vulkan pass). Same fallback rules as
// encoder_backend.h: any Vulkan failure reruns the pass on the CPU after a one-line notice (then
// opt.on_layer may see layer 1 again); errors that are not the device's propagate unchanged.
// Attention captures have no GPU path yet: they run on the CPU (`vulkan` says so once per pass).
#include <memory>
#include <mutex>
#include <string>

#include "engine/backend/encoder_backend.h"
#include "engine/models/pegasus_encoder.h"

namespace bb::vk {
class VulkanPegasusEncoder;
}

namespace bb::backend {

class PegasusEncoderBackend {
 public:
  PegasusEncoderBackend();
  ~PegasusEncoderBackend();

  // Sets out.backend to what ran: "cpu", "vulkan (<device name>)" or "cpu (fallback: <reason>)".
  PegasusEncoding run(const Selection& selection, const PegasusWeights& weights, const ModelConfig& config,
                      const int64_t* ids, const float* mask, int64_t batch, int64_t len,
                      const PegasusEncodeOptions& opt);

 private:
  std::mutex mutex_;
  std::unique_ptr<vk::VulkanPegasusEncoder> vulkan_;
  std::string vulkan_key_;
  std::string disabled_reason_;
};

}  // namespace bb::backend
