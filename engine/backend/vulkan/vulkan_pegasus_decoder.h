#pragma once
// The BigBird-Pegasus pre-LN decoder (engine/models/pegasus_decoder.h) on a Vulkan device, one token
// per row and step (what the searches feed). Weights are uploaded once at construction, the LM head
// in vocabulary slices that each fit one binding. A DecoderState keeps everything a generation needs
// on the device: the self-attention keys/values of every fed token ([rows, capacity, D] per layer),
// the cross-attention keys/values of each encoder row (computed once, shared by its beams) and the
// step's activations. Per step only the token embeddings go up (formed on the host, as the CPU
// decoder does) and the logits [rows, V] come back; beam reordering gathers cache rows on the device.
// Device failures throw vk::VulkanError; the caller falls back (engine/backend/pegasus_decoder_backend).
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend/vulkan/vk_device.h"
#include "engine/backend/vulkan/vk_memory.h"
#include "engine/backend/vulkan/vk_stream.h"
#include "engine/core/tensor.h"
#include "engine/models/pegasus_weights.h"

namespace bb::vk {

struct DecoderState {
  int64_t rows = 0, capacity = 0, length = 0;  // as PegasusCache
  int64_t sources = 0, source_len = 0;
  std::vector<int32_t> row_source;             // the encoder row each decoder row attends to
  std::vector<Buffer> self_k, self_v;          // per layer [rows, capacity, D]
  Buffer spare;                                // [rows, capacity, D]: reorder target, swapped in
  std::vector<Buffer> cross_k, cross_v;        // per layer [sources, source_len, D]
  std::vector<Buffer> source_masks;            // per encoder row [source_len]; empty when all ones
  Buffer y, h, q, ctx, ff, logits, row_ids;    // one step's activations, [rows, V] logits, reorder ids
  std::unique_ptr<Stream> stream;
  std::map<std::string, double> profiled;  // kernel seconds already passed to the profiler
};

class VulkanPegasusDecoder {
 public:
  VulkanPegasusDecoder(std::shared_ptr<Device> device, const PegasusWeights& weights, const ModelConfig& config);
  ~VulkanPegasusDecoder();

  // encoder_hidden [sources, source_len, D], source_mask [sources, source_len] (0/1); the same
  // checks as start_pegasus_cache (bb::Error), then the cross keys/values on the device.
  DecoderState start(const Tensor& encoder_hidden, const Tensor& source_mask, std::vector<int32_t> row_source,
                     int64_t capacity);
  // One token per row (ids [rows]); returns the next-token logits [rows, V]. `weights` are the
  // construction's (token and position embeddings are read on the host).
  Tensor step(DecoderState& state, const PegasusWeights& weights, const int64_t* ids);
  // Row i continues what row src[i] was.
  void reorder(DecoderState& state, const std::vector<int32_t>& src);

  const std::shared_ptr<Device>& device() const { return device_; }

 private:
  struct Layer {
    Buffer ln_self_g, ln_self_b, sq_w, sk_w, sv_w, so_w, sq_b, sk_b, sv_b, so_b;
    Buffer ln_cross_g, ln_cross_b, cq_w, ck_w, cv_w, co_w, cq_b, ck_b, cv_b, co_b;
    Buffer ln_ffn_g, ln_ffn_b, fc1_w, fc1_b, fc2_w, fc2_b;
  };
  struct HeadSlice {  // LM head rows [begin, end) and their final_logits_bias
    uint32_t begin = 0, end = 0;
    Buffer w, bias;
  };

  std::shared_ptr<Device> device_;
  ModelConfig config_;
  std::vector<Layer> layers_;
  Buffer ln_final_g_, ln_final_b_;
  std::vector<HeadSlice> head_;
};

}  // namespace bb::vk
