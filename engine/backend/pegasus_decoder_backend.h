#pragma once
// Opens BigBird-Pegasus decoding sessions (gen::DecoderSession, what the searches step) on the
// chosen backend and owns the device-side copy of one model's decoder weights (uploaded with the
// first Vulkan session, reused by every later one). Same fallback rules as the encoder backends:
// any Vulkan failure, at the start or at any step, prints the one-line notice, disables Vulkan for
// this model, and the session goes on on the CPU: it replays each row's tokens so far into a CPU
// cache, so every later logit is the CPU decoder's. Errors that are not the device's (bad ids, a
// full cache) propagate unchanged.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/backend/encoder_backend.h"  // Selection
#include "engine/generate/decoder_session.h"
#include "engine/models/pegasus_weights.h"

namespace bb::vk {
class VulkanPegasusDecoder;
class VulkanError;
}  // namespace bb::vk

namespace bb::backend {

class PegasusDecoderBackend {
 public:
  PegasusDecoderBackend();
  ~PegasusDecoderBackend();

  // Decoder rows reading rows `row_source` of encoder_hidden [sources, len, D] (source_mask
  // [sources, len], 0/1), room for `capacity` tokens, one token per row and step. `weights`,
  // `encoder_hidden` and `source_mask` must outlive the session. `used` (must outlive the session)
  // receives what decodes: "cpu", "vulkan (<device name>)" or "cpu (fallback: <reason>)", updated
  // when a step falls back. Cross-attention captures have no GPU path: the caller runs those on the CPU.
  std::unique_ptr<gen::DecoderSession> start(const Selection& selection, const PegasusWeights& weights,
                                             const ModelConfig& config, const Tensor& encoder_hidden,
                                             const Tensor& source_mask, std::vector<int32_t> row_source,
                                             int64_t capacity, std::string* used);

  // After a failure of `decoder` during a session: the notice, Vulkan off for this model; the reason.
  std::string disable(const Selection& selection, const vk::VulkanError& e,
                      const std::shared_ptr<vk::VulkanPegasusDecoder>& decoder);

 private:
  std::mutex mutex_;
  std::shared_ptr<vk::VulkanPegasusDecoder> vulkan_;  // shared with the sessions that use it
  std::string vulkan_key_;
  std::string disabled_reason_;
};

}  // namespace bb::backend
