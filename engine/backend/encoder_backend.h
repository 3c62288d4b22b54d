#pragma once
// Runs the BigBird encoder on the chosen backend and owns the device-side copy of one model's
// weights (uploaded on the first Vulkan pass, reused by every later pass). Any Vulkan failure
// (no device, failed self-test, out of memory, device lost, non-finite output) reruns the pass
// on the CPU after a one-line notice; errors that are not the device's (bad input, a cancelled
// pass) propagate unchanged. A pass that fails part-way restarts on the CPU from the embeddings, so
// EncoderPass::on_layer_done may see layer 0 again.
#include <memory>
#include <mutex>
#include <string>

#include "engine/backend/backend.h"
#include "engine/models/bigbird_encoder.h"

namespace bb::vk {
class VulkanEncoder;
}

namespace bb::backend {

struct Selection {
  Kind kind = Kind::Cpu;
  std::string device;  // Vulkan device: "" = best; an index or a name substring (`bigbird devices`)
};

class EncoderBackend {
 public:
  EncoderBackend();
  ~EncoderBackend();

  // `used` (optional) receives what ran: "cpu", "vulkan (<device name>)" or "cpu (fallback: <reason>)".
  EncoderResult run(const Selection& selection, const BigBirdEncoderWeights& weights, const ModelConfig& config,
                    const EncoderPass& pass, std::string* used = nullptr);

 private:
  std::mutex mutex_;
  std::unique_ptr<vk::VulkanEncoder> vulkan_;
  std::string vulkan_key_;       // the selection the uploaded weights belong to
  std::string disabled_reason_;  // set once Vulkan failed for this model: no retry per pass
};

}  // namespace bb::backend
