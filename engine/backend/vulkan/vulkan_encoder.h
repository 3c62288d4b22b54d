#pragma once
// The BigBird encoder (engine/models/bigbird_encoder.h) on a Vulkan device: same weights, same
// EncoderPass in, same EncoderResult out. Weights are uploaded once at construction; each pass
// uploads ids and mask, runs every layer on the GPU (block-sparse attention from the engine's
// plan, full attention with the HF mask, or simulated_sparse) and downloads the hidden states
// (and captures, when asked). Batches are split across buffers so that no binding exceeds the
// device's maxStorageBufferRange. Device failures throw vk::VulkanError; the caller falls back.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend/vulkan/vk_device.h"
#include "engine/backend/vulkan/vk_memory.h"
#include "engine/backend/vulkan/vk_stream.h"
#include "engine/models/bigbird_encoder.h"

namespace bb::vk {

struct VulkanEncoderOptions {
  bool fp16_weights = false;  // weight matrices in fp16 storage (needs storageBuffer16BitAccess)
  bool shape_check = true;    // check the attention kernels at this model's head_dim / block first
};

// Checks the attention kernels at this model's head_dim / block size on `device`, once per process
// and shape (throws VulkanError on a mismatch). Every model on the device runs it before its first pass.
void check_attention_at_model_shape(Stream& s, Device& device, const ModelConfig& c);

class VulkanEncoder {
 public:
  // Uploads the weights. Throws VulkanError (out of memory, limits, failed shape check).
  VulkanEncoder(std::shared_ptr<Device> device, const BigBirdEncoderWeights& weights, const ModelConfig& config,
                VulkanEncoderOptions options = {});
  ~VulkanEncoder();

  EncoderResult run(const EncoderPass& pass);

  const std::shared_ptr<Device>& device() const { return device_; }
  // GPU time per kernel over every pass run with profiling on (prof::enabled()).
  const std::map<std::string, Stream::KernelTime>& kernel_times() const { return kernel_times_; }

 private:
  struct Matrix {
    Buffer data;  // fp32 or fp16
    bool fp16 = false;
  };
  struct Layer {
    Matrix q_w, k_w, v_w, o_w, ff1_w, ff2_w;
    Buffer q_b, k_b, v_b, o_b, ff1_b, ff2_b, ln1_g, ln1_b, ln2_g, ln2_b;
  };
  struct Table {  // an embedding table in row chunks that each fit one binding
    std::vector<Buffer> chunks;
    std::vector<int32_t> first_row;
    int64_t rows = 0;
  };

  Table upload_table(Stream& s, const float* data, int64_t rows, int64_t cols, const char* name);
  Matrix upload_matrix(Stream& s, const float* data, int64_t rows, int64_t cols, const char* name);
  Buffer upload_vector(Stream& s, const float* data, int64_t n);

  std::shared_ptr<Device> device_;
  ModelConfig config_;
  VulkanEncoderOptions options_;
  Table word_, position_, token_type_;
  Buffer emb_ln_g_, emb_ln_b_;
  std::vector<Layer> layers_;
  std::map<std::string, Stream::KernelTime> kernel_times_;
};

}  // namespace bb::vk
