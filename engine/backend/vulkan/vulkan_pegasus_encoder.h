#pragma once
// The BigBird-Pegasus pre-LN encoder (engine/models/pegasus_encoder.h) on a Vulkan device: same
// weights, same inputs, same PegasusEncoding out (hidden states, mask, decision, random tables).
// Weights are uploaded once at construction. The embedding sum (sqrt(d)·E[ids] + Pos, pad rows
// unscaled) is formed on the host and uploaded with the ids; every layer and the final LayerNorm
// run on the GPU. Attention captures are not implemented here: the caller runs those on the CPU.
// Device failures throw vk::VulkanError; the caller falls back.
#include <memory>

#include "engine/backend/vulkan/vk_device.h"
#include "engine/backend/vulkan/vk_memory.h"
#include "engine/models/pegasus_encoder.h"

namespace bb::vk {

class VulkanPegasusEncoder {
 public:
  VulkanPegasusEncoder(std::shared_ptr<Device> device, const PegasusWeights& weights, const ModelConfig& config);
  ~VulkanPegasusEncoder();

  // ids [batch, len], mask [batch, len] 0/1 (validated by the caller). opt.capture must be off.
  // `weights` are the construction's (the host embedding tables are read from them).
  PegasusEncoding run(const PegasusWeights& weights, const int64_t* ids, const float* mask, int64_t batch, int64_t len,
                      const PegasusEncodeOptions& opt);

  const std::shared_ptr<Device>& device() const { return device_; }

 private:
  struct Layer {
    Buffer ln_self_g, ln_self_b, q_w, k_w, v_w, o_w, q_b, k_b, v_b, o_b;
    Buffer ln_ffn_g, ln_ffn_b, fc1_w, fc1_b, fc2_w, fc2_b;
  };

  std::shared_ptr<Device> device_;
  ModelConfig config_;
  std::vector<Layer> layers_;
  Buffer ln_final_g_, ln_final_b_;
};

}  // namespace bb::vk
