#include "engine/backend/vulkan/vulkan_pegasus_encoder.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "engine/backend/vulkan/vk_error.h"
#include "engine/backend/vulkan/vk_ops.h"
#include "engine/backend/vulkan/vk_pipelines.h"
#include "engine/backend/vulkan/vk_stream.h"
#include "engine/backend/vulkan/vulkan_encoder.h"
#include "engine/core/error.h"
#include "engine/core/profiler.h"

namespace bb::vk {

namespace {

Buffer upload_or_empty(Stream& s, const float* data, int64_t n) { return data ? upload_floats(s, data, n) : Buffer(); }

}  // namespace

VulkanPegasusEncoder::VulkanPegasusEncoder(std::shared_ptr<Device> device, const PegasusWeights& w,
                                           const ModelConfig& c)
    : device_(std::move(device)), config_(c) {
  const int64_t D = c.hidden_size, F = c.intermediate_size;
  if (c.head_dim() > int64_t(ops::max_head_dim(*device_)))
    throw VulkanError("head_dim " + std::to_string(c.head_dim()) + " exceeds what the attention kernels support on " +
                          device_->info().name,
                      VK_ERROR_FEATURE_NOT_PRESENT);
  const uint64_t biggest = uint64_t(D) * uint64_t(F) * 4;
  if (biggest > device_->max_binding_bytes())
    throw VulkanError("an FFN matrix (" + std::to_string(biggest) + " bytes) exceeds maxStorageBufferRange",
                      VK_ERROR_FEATURE_NOT_PRESENT);
  Stream s(*device_);
  for (const PegasusEncoderLayerWeights& lw : w.encoder) {
    Layer L;
    L.ln_self_g = upload_floats(s, lw.ln_self_g, D);
    L.ln_self_b = upload_floats(s, lw.ln_self_b, D);
    L.q_w = upload_floats(s, lw.q_w, D * D);
    L.k_w = upload_floats(s, lw.k_w, D * D);
    L.v_w = upload_floats(s, lw.v_w, D * D);
    L.o_w = upload_floats(s, lw.o_w, D * D);
    L.q_b = upload_or_empty(s, lw.q_b, D);
    L.k_b = upload_or_empty(s, lw.k_b, D);
    L.v_b = upload_or_empty(s, lw.v_b, D);
    L.o_b = upload_or_empty(s, lw.o_b, D);
    L.ln_ffn_g = upload_floats(s, lw.ln_ffn_g, D);
    L.ln_ffn_b = upload_floats(s, lw.ln_ffn_b, D);
    L.fc1_w = upload_floats(s, lw.fc1_w, F * D);
    L.fc1_b = upload_or_empty(s, lw.fc1_b, F);
    L.fc2_w = upload_floats(s, lw.fc2_w, D * F);
    L.fc2_b = upload_or_empty(s, lw.fc2_b, D);
    layers_.push_back(std::move(L));
  }
  ln_final_g_ = upload_floats(s, w.enc_ln_g, D);
  ln_final_b_ = upload_floats(s, w.enc_ln_b, D);
  check_attention_at_model_shape(s, *device_, c);
  s.flush();
  device_->pipelines().save();
}

VulkanPegasusEncoder::~VulkanPegasusEncoder() = default;

PegasusEncoding VulkanPegasusEncoder::run(const PegasusWeights& w, const int64_t* ids, const float* mask, int64_t B, int64_t L,
                                          const PegasusEncodeOptions& opt) {
  prof::Scope scope("vulkan pegasus encoder (wall)");
  const ModelConfig& c = config_;
  const int64_t D = c.hidden_size, F = c.intermediate_size;
  const int heads = c.num_attention_heads;
  const float eps = float(c.layer_norm_eps);
  const float scale = c.rescale_embeddings ? std::sqrt(float(D)) : 1.0f;
  if (opt.capture.enabled) throw Error("vulkan pegasus encoder: attention capture runs on the CPU");
  if (B <= 0 || L <= 0) throw Error("vulkan pegasus encoder: empty batch");

  PegasusEncoding out;
  out.decision = attn::decide_attention(opt.attention_type.value_or(c.attention_type), L, c.block_size,
                                        c.num_random_blocks, opt.random_blocks);
  if (L > c.max_position_embeddings)
    throw Error("input of " + std::to_string(L) + " tokens is longer than max_position_embeddings = " +
                std::to_string(c.max_position_embeddings));
  const int64_t P = out.decision.padded_len, rows = B * P;
  const bool sparse = out.decision.type != attn::AttentionType::OriginalFull;
  const bool block_sparse = out.decision.type == attn::AttentionType::BlockSparse;
  const uint64_t widest = uint64_t(rows) * uint64_t(std::max(D, F)) * 4;
  if (widest > std::min(device_->max_binding_bytes(), device_->allocator().max_allocation()) ||
      rows * std::max(D, F) > int64_t(std::numeric_limits<uint32_t>::max()))
    throw VulkanError("a " + std::to_string(B) + " x " + std::to_string(P) +
                          "-token batch needs activation buffers beyond one binding",
                      VK_ERROR_FEATURE_NOT_PRESENT);

  // Embeddings on the host, exactly as the CPU encoder forms them.
  std::vector<float> x0(size_t(rows * D));
  std::vector<float> pmask(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t b = r / P, t = r % P;
    float* dst = x0.data() + r * D;
    if (t < L) {
      const float* e = w.shared + ids[b * L + t] * D;
      const float* p = w.enc_pos + t * D;
      for (int64_t i = 0; i < D; ++i) dst[i] = e[i] * scale + p[i];
      pmask[size_t(r)] = mask[b * L + t];
    } else {
      const float* e = w.shared + c.pad_token_id * D;
      std::copy(e, e + D, dst);
      pmask[size_t(r)] = 0.0f;
    }
  }

  Device& dev = *device_;
  Stream s(dev);
  s.set_timing(prof::enabled());
  Buffer x = upload_floats(s, x0.data(), rows * D), m = upload_floats(s, pmask.data(), rows);
  Buffer h = make_buffer(dev, rows * D), q = make_buffer(dev, rows * D), k = make_buffer(dev, rows * D);
  Buffer v = make_buffer(dev, rows * D), ctx = make_buffer(dev, rows * D), ff = make_buffer(dev, rows * F);
  const uint32_t R = uint32_t(rows), Du = uint32_t(D), Fu = uint32_t(F);

  const int layers = int(layers_.size());
  for (int l = 0; l < layers; ++l) {
    const Layer& lw = layers_[size_t(l)];
    ops::layer_norm(s, view_of(x), view_of(lw.ln_self_g), view_of(lw.ln_self_b), view_of(h), R, Du, eps);
    ops::linear(s, view_of(h), R, Du, view_of(lw.q_w), Du, view_of_or_empty(lw.q_b), view_of(q));
    ops::linear(s, view_of(h), R, Du, view_of(lw.k_w), Du, view_of_or_empty(lw.k_b), view_of(k));
    ops::linear(s, view_of(h), R, Du, view_of(lw.v_w), Du, view_of_or_empty(lw.v_b), view_of(v));

    attn::BlockPattern pattern;
    if (sparse) {
      attn::TableParams tp;
      tp.seq_len = P;
      tp.block = c.block_size;
      tp.num_random = c.num_random_blocks;
      tp.heads = heads;
      tp.layer = l;
      tp.max_position_embeddings = c.max_position_embeddings;
      tp.mode = opt.random_blocks;
      pattern = attn::BlockPattern(P, c.block_size, c.num_random_blocks, heads, attn::random_block_table(tp));
      out.random_tables.push_back(pattern.table());
    }
    ops::SparseLists lists;
    Buffer bias_grid;
    if (block_sparse) {
      lists = ops::upload_pattern(s, pattern, false);
      ops::SparseAttention a;
      a.q = view_of(q);
      a.k = view_of(k);
      a.v = view_of(v);
      a.ctx = view_of(ctx);
      a.mask = view_of(m);
      a.lists = &lists;
      a.heads = uint32_t(heads);
      a.head_dim = uint32_t(c.head_dim());
      a.L = uint32_t(P);
      a.batch = uint32_t(B);
      a.ldq = a.ldkv = a.ldc = Du;
      a.q_batch = a.kv_batch = a.c_batch = uint32_t(P * D);
      ops::block_sparse_attention(s, a);
    } else {
      ops::DenseAttention a;
      a.q = view_of(q);
      a.k = view_of(k);
      a.v = view_of(v);
      a.ctx = view_of(ctx);
      a.key_mask = view_of(m);
      a.Lq = a.Lk = uint32_t(P);
      a.heads = uint32_t(heads);
      a.head_dim = uint32_t(c.head_dim());
      a.batch = uint32_t(B);
      a.ldq = a.ldkv = a.ldc = Du;
      a.q_batch = a.kv_batch = a.c_batch = uint32_t(P * D);
      if (sparse) {  // simulated_sparse: the CPU's additive -10000 / log(multiplicity) per block pair
        std::vector<float> grid;
        for (int hh = 0; hh < heads; ++hh)
          for (uint8_t mult : pattern.multiplicity(hh))
            grid.push_back(mult == 0 ? -10000.0f : (mult == 1 ? 0.0f : std::log(float(mult))));
        bias_grid = upload_floats(s, grid.data(), int64_t(grid.size()));
        a.penalty = -10000.0f;
        a.block_bias = view_of(bias_grid);
        a.block = uint32_t(c.block_size);
        a.nbq = a.nbk = uint32_t(pattern.num_blocks());
        a.query_mask = view_of(m);
        a.zero_padded_queries = true;
      } else {
        a.penalty = std::numeric_limits<float>::lowest();  // HF _prepare_4d_attention_mask: finfo.min
      }
      ops::dense_attention(s, a);
    }
    // x += Wo ctx; x += W2 act(W1 LN(x))
    ops::linear(s, view_of(ctx), R, Du, view_of(lw.o_w), Du, view_of_or_empty(lw.o_b), view_of(h));
    ops::bias_residual(s, view_of(h), View{}, view_of(x), view_of(x), R, Du);
    ops::layer_norm(s, view_of(x), view_of(lw.ln_ffn_g), view_of(lw.ln_ffn_b), view_of(h), R, Du, eps);
    ops::linear(s, view_of(h), R, Du, view_of(lw.fc1_w), Fu, view_of_or_empty(lw.fc1_b), view_of(ff));
    ops::activation(s, c.hidden_act, view_of(ff), R * Fu);
    ops::linear(s, view_of(ff), R, Fu, view_of(lw.fc2_w), Du, view_of_or_empty(lw.fc2_b), view_of(h));
    ops::bias_residual(s, view_of(h), View{}, view_of(x), view_of(x), R, Du);
    if (opt.on_layer) {
      s.flush();  // progress reports work that has run, not work that was recorded
      opt.on_layer(l + 1, layers);
    }
  }
  ops::layer_norm(s, view_of(x), view_of(ln_final_g_), view_of(ln_final_b_), view_of(x), R, Du, eps);

  out.hidden = Tensor::uninitialized({B, L, D});
  for (int64_t b = 0; b < B; ++b)
    s.download(x, out.hidden.data() + b * L * D, uint64_t(L * D) * 4, uint64_t(b * P * D) * 4);
  for (int64_t i = 0; i < out.hidden.numel(); ++i)
    if (!std::isfinite(out.hidden[i])) throw VulkanError("the Vulkan result holds non-finite values", VK_ERROR_UNKNOWN);
  for (const auto& [name, t] : s.kernel_times()) prof::add(("vulkan " + name).c_str(), t.seconds);
  out.mask = Tensor::uninitialized({B, L});
  std::copy_n(mask, B * L, out.mask.data());
  return out;
}

}  // namespace bb::vk
