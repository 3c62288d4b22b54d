#include "engine/backend/vulkan/vulkan_pegasus_decoder.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "engine/backend/vulkan/vk_error.h"
#include "engine/backend/vulkan/vk_ops.h"
#include "engine/backend/vulkan/vulkan_encoder.h"
#include "engine/core/error.h"
#include "engine/core/profiler.h"

namespace bb::vk {

namespace {

constexpr float kMinPenalty = std::numeric_limits<float>::lowest();  // HF decoder masks: finfo(float32).min

Buffer upload_or_empty(Stream& s, const float* data, int64_t n) { return data ? upload_floats(s, data, n) : Buffer(); }

// Largest buffer one binding (and one allocation) holds on `d`.
uint64_t binding_limit(Device& d) { return std::min(d.max_binding_bytes(), d.allocator().max_allocation()); }

void require_fits(Device& d, int64_t elements, const std::string& what) {
  if (uint64_t(elements) * 4 > binding_limit(d) || elements > int64_t(std::numeric_limits<uint32_t>::max()))
    throw VulkanError(what + " (" + std::to_string(elements * 4) + " bytes) exceeds one storage-buffer binding",
                      VK_ERROR_FEATURE_NOT_PRESENT);
}

// y[rows, N] at row stride ldc from element c_off: x[rows, K] W[N, K]^T + bias (nn.Linear into a slab).
void linear_into(Stream& s, View x, uint32_t rows, uint32_t K, View w, uint32_t N, View bias, View y, uint32_t ldc,
                 uint32_t c_off) {
  ops::Gemm g;
  g.a = x;
  g.b = w;
  g.c = y;
  g.bias = bias;
  g.trans_b = true;
  g.M = rows;
  g.N = N;
  g.K = K;
  g.lda = K;
  g.ldb = K;
  g.ldc = ldc;
  g.c_off = c_off;
  ops::gemm(s, g);
}

}  // namespace

VulkanPegasusDecoder::VulkanPegasusDecoder(std::shared_ptr<Device> device, const PegasusWeights& w,
                                           const ModelConfig& c)
    : device_(std::move(device)), config_(c) {
  const int64_t D = c.hidden_size, F = c.decoder_ffn_dim, V = c.vocab_size;
  if (c.decoder_attention_heads <= 0 || D % c.decoder_attention_heads != 0)
    throw Error("decoder_attention_heads = " + std::to_string(c.decoder_attention_heads) + " does not divide d_model");
  ModelConfig shape = c;  // the decoder's heads decide its attention pipelines
  shape.num_attention_heads = c.decoder_attention_heads;
  if (shape.head_dim() > int64_t(ops::max_head_dim(*device_)))
    throw VulkanError("decoder head_dim " + std::to_string(shape.head_dim()) +
                          " exceeds what the attention kernels support on " + device_->info().name,
                      VK_ERROR_FEATURE_NOT_PRESENT);
  require_fits(*device_, D * F, "a decoder FFN matrix");
  Stream s(*device_);
  for (const PegasusDecoderLayerWeights& lw : w.decoder) {
    Layer L;
    L.ln_self_g = upload_floats(s, lw.ln_self_g, D);
    L.ln_self_b = upload_floats(s, lw.ln_self_b, D);
    L.sq_w = upload_floats(s, lw.sq_w, D * D);
    L.sk_w = upload_floats(s, lw.sk_w, D * D);
    L.sv_w = upload_floats(s, lw.sv_w, D * D);
    L.so_w = upload_floats(s, lw.so_w, D * D);
    L.sq_b = upload_or_empty(s, lw.sq_b, D);
    L.sk_b = upload_or_empty(s, lw.sk_b, D);
    L.sv_b = upload_or_empty(s, lw.sv_b, D);
    L.so_b = upload_or_empty(s, lw.so_b, D);
    L.ln_cross_g = upload_floats(s, lw.ln_cross_g, D);
    L.ln_cross_b = upload_floats(s, lw.ln_cross_b, D);
    L.cq_w = upload_floats(s, lw.cq_w, D * D);
    L.ck_w = upload_floats(s, lw.ck_w, D * D);
    L.cv_w = upload_floats(s, lw.cv_w, D * D);
    L.co_w = upload_floats(s, lw.co_w, D * D);
    L.cq_b = upload_or_empty(s, lw.cq_b, D);
    L.ck_b = upload_or_empty(s, lw.ck_b, D);
    L.cv_b = upload_or_empty(s, lw.cv_b, D);
    L.co_b = upload_or_empty(s, lw.co_b, D);
    L.ln_ffn_g = upload_floats(s, lw.ln_ffn_g, D);
    L.ln_ffn_b = upload_floats(s, lw.ln_ffn_b, D);
    L.fc1_w = upload_floats(s, lw.fc1_w, F * D);
    L.fc1_b = upload_or_empty(s, lw.fc1_b, F);
    L.fc2_w = upload_floats(s, lw.fc2_w, D * F);
    L.fc2_b = upload_or_empty(s, lw.fc2_b, D);
    layers_.push_back(std::move(L));
  }
  ln_final_g_ = upload_floats(s, w.dec_ln_g, D);
  ln_final_b_ = upload_floats(s, w.dec_ln_b, D);
  // The LM head [V, D] is the largest matrix (96103 x 1024 in bigbird-pegasus-large): vocabulary
  // slices of at most one binding each.
  const int64_t slice_rows = std::min<int64_t>(V, int64_t(binding_limit(*device_) / uint64_t(D * 4)));
  if (slice_rows < 1) throw VulkanError("one LM head row exceeds a storage-buffer binding", VK_ERROR_FEATURE_NOT_PRESENT);
  for (int64_t v0 = 0; v0 < V; v0 += slice_rows) {
    HeadSlice h;
    h.begin = uint32_t(v0);
    h.end = uint32_t(std::min(V, v0 + slice_rows));
    h.w = upload_floats(s, w.lm_head + v0 * D, int64_t(h.end - h.begin) * D);
    h.bias = upload_floats(s, w.final_logits_bias + v0, int64_t(h.end - h.begin));
    head_.push_back(std::move(h));
  }
  check_attention_at_model_shape(s, *device_, shape);
  s.flush();
  device_->pipelines().save();
}

VulkanPegasusDecoder::~VulkanPegasusDecoder() = default;

DecoderState VulkanPegasusDecoder::start(const Tensor& hidden, const Tensor& source_mask,
                                         std::vector<int32_t> row_source, int64_t capacity) {
  prof::Scope scope("vulkan decoder cross K/V");
  const ModelConfig& c = config_;
  const int64_t D = c.hidden_size, F = c.decoder_ffn_dim, V = c.vocab_size;
  if (hidden.rank() != 3 || hidden.dim(2) != D)
    throw Error("encoder output has shape " + shape_to_string(hidden.shape()) + ", expected [batch, len, " +
                std::to_string(D) + "]");
  const int64_t S = hidden.dim(0), Ls = hidden.dim(1);
  if (source_mask.shape() != Shape{S, Ls})
    throw Error("encoder mask has shape " + shape_to_string(source_mask.shape()) + ", expected " +
                shape_to_string({S, Ls}));
  if (row_source.empty()) throw Error("a decoder needs at least one row");
  for (int32_t r : row_source)
    if (r < 0 || r >= S) throw Error("decoder row reads encoder row " + std::to_string(r) + " of " + std::to_string(S));
  if (capacity < 1) throw Error("decoder capacity must be at least 1 token");
  if (capacity > c.max_position_embeddings)
    throw Error("decoder length " + std::to_string(capacity) + " exceeds max_position_embeddings = " +
                std::to_string(c.max_position_embeddings));
  const int64_t N = int64_t(row_source.size());
  Device& dev = *device_;
  require_fits(dev, N * capacity * D, "the decoder's self-attention cache");
  require_fits(dev, S * Ls * D, "the encoder output");
  require_fits(dev, N * V, "the logits of one step");

  DecoderState st;
  st.rows = N;
  st.capacity = capacity;
  st.sources = S;
  st.source_len = Ls;
  st.row_source = std::move(row_source);
  st.stream = std::make_unique<Stream>(dev);
  Stream& s = *st.stream;
  s.set_timing(prof::enabled());
  for (int64_t r = 0; r < S; ++r) {
    const float* m = source_mask.data() + r * Ls;
    const bool all_ones = std::all_of(m, m + Ls, [](float x) { return x != 0.0f; });
    st.source_masks.push_back(all_ones ? Buffer() : upload_floats(s, m, Ls));
  }
  const Buffer enc = upload_floats(s, hidden.data(), S * Ls * D);
  const uint32_t rows = uint32_t(S * Ls), Du = uint32_t(D);
  for (const Layer& lw : layers_) {
    st.self_k.push_back(make_buffer(dev, N * capacity * D));
    st.self_v.push_back(make_buffer(dev, N * capacity * D));
    st.cross_k.push_back(make_buffer(dev, S * Ls * D));
    st.cross_v.push_back(make_buffer(dev, S * Ls * D));
    ops::linear(s, view_of(enc), rows, Du, view_of(lw.ck_w), Du, view_of_or_empty(lw.ck_b), view_of(st.cross_k.back()));
    ops::linear(s, view_of(enc), rows, Du, view_of(lw.cv_w), Du, view_of_or_empty(lw.cv_b), view_of(st.cross_v.back()));
  }
  st.spare = make_buffer(dev, N * capacity * D);
  st.y = make_buffer(dev, N * D);
  st.h = make_buffer(dev, N * D);
  st.q = make_buffer(dev, N * D);
  st.ctx = make_buffer(dev, N * D);
  st.ff = make_buffer(dev, N * F);
  st.logits = make_buffer(dev, N * V);
  st.row_ids = make_buffer(dev, N, 4);
  s.flush();
  return st;
}

Tensor VulkanPegasusDecoder::step(DecoderState& st, const PegasusWeights& w, const int64_t* ids) {
  prof::Scope scope("vulkan decoder step");
  const ModelConfig& c = config_;
  const int64_t N = st.rows, D = c.hidden_size, F = c.decoder_ffn_dim, V = c.vocab_size;
  const int64_t past = st.length, cap = st.capacity, Ls = st.source_len;
  const int heads = c.decoder_attention_heads;
  const float eps = float(c.layer_norm_eps);
  const float scale = c.rescale_embeddings ? std::sqrt(float(D)) : 1.0f;
  if (past + 1 > cap)
    throw Error("decoder cache holds " + std::to_string(cap) + " tokens; cannot append 1 to " + std::to_string(past));
  for (int64_t i = 0; i < N; ++i)
    if (ids[i] < 0 || ids[i] >= V)
      throw Error("decoder_input_ids[" + std::to_string(i) + "] = " + std::to_string(ids[i]) +
                  " is outside the vocabulary (0.." + std::to_string(V - 1) + ")");

  // Token + position embeddings on the host, exactly as the CPU decoder forms them.
  std::vector<float> y0(size_t(N * D));
  for (int64_t r = 0; r < N; ++r) {
    const float* e = w.shared + ids[r] * D;
    const float* p = w.dec_pos + past * D;
    for (int64_t i = 0; i < D; ++i) y0[size_t(r * D + i)] = e[i] * scale + p[i];
  }
  Stream& s = *st.stream;
  s.upload(st.y, y0.data(), uint64_t(N * D) * 4);
  const uint32_t R = uint32_t(N), Du = uint32_t(D), Fu = uint32_t(F);
  const View y = view_of(st.y), h = view_of(st.h), q = view_of(st.q), ctx = view_of(st.ctx), ff = view_of(st.ff);

  for (size_t l = 0; l < layers_.size(); ++l) {
    const Layer& lw = layers_[l];
    // Causal self-attention: the new token's key/value go into the cache at position `past`; a
    // single new token sees every cached key, so no causal mask is needed.
    ops::layer_norm(s, y, view_of(lw.ln_self_g), view_of(lw.ln_self_b), h, R, Du, eps);
    ops::linear(s, h, R, Du, view_of(lw.sq_w), Du, view_of_or_empty(lw.sq_b), q);
    linear_into(s, h, R, Du, view_of(lw.sk_w), Du, view_of_or_empty(lw.sk_b), view_of(st.self_k[l]),
                uint32_t(cap * D), uint32_t(past * D));
    linear_into(s, h, R, Du, view_of(lw.sv_w), Du, view_of_or_empty(lw.sv_b), view_of(st.self_v[l]),
                uint32_t(cap * D), uint32_t(past * D));
    ops::DenseAttention a;
    a.q = q;
    a.k = view_of(st.self_k[l]);
    a.v = view_of(st.self_v[l]);
    a.ctx = ctx;
    a.Lq = 1;
    a.Lk = uint32_t(past + 1);
    a.heads = uint32_t(heads);
    a.head_dim = uint32_t(D / heads);
    a.batch = R;
    a.ldq = a.ldkv = a.ldc = Du;
    a.q_batch = a.c_batch = Du;
    a.kv_batch = uint32_t(cap * D);
    a.penalty = kMinPenalty;
    ops::dense_attention(s, a);
    ops::linear(s, ctx, R, Du, view_of(lw.so_w), Du, view_of_or_empty(lw.so_b), h);
    ops::bias_residual(s, h, View{}, y, y, R, Du);

    // Cross-attention: consecutive rows reading the same encoder row (the beams of one document)
    // are one query block over that row's keys, as on the CPU.
    ops::layer_norm(s, y, view_of(lw.ln_cross_g), view_of(lw.ln_cross_b), h, R, Du, eps);
    ops::linear(s, h, R, Du, view_of(lw.cq_w), Du, view_of_or_empty(lw.cq_b), q);
    for (int64_t n0 = 0; n0 < N;) {
      const int32_t src = st.row_source[size_t(n0)];
      int64_t n1 = n0 + 1;
      while (n1 < N && st.row_source[size_t(n1)] == src) ++n1;
      ops::DenseAttention x;
      x.q = q;
      x.k = view_of(st.cross_k[l]);
      x.v = view_of(st.cross_v[l]);
      x.ctx = ctx;
      x.key_mask = view_of_or_empty(st.source_masks[size_t(src)]);
      x.Lq = uint32_t(n1 - n0);
      x.Lk = uint32_t(Ls);
      x.heads = uint32_t(heads);
      x.head_dim = uint32_t(D / heads);
      x.ldq = x.ldkv = x.ldc = Du;
      x.q_off = x.c_off = uint32_t(n0 * D);
      x.k_off = x.v_off = uint32_t(src * Ls * D);
      x.penalty = kMinPenalty;
      ops::dense_attention(s, x);
      n0 = n1;
    }
    ops::linear(s, ctx, R, Du, view_of(lw.co_w), Du, view_of_or_empty(lw.co_b), h);
    ops::bias_residual(s, h, View{}, y, y, R, Du);

    ops::layer_norm(s, y, view_of(lw.ln_ffn_g), view_of(lw.ln_ffn_b), h, R, Du, eps);
    ops::linear(s, h, R, Du, view_of(lw.fc1_w), Fu, view_of_or_empty(lw.fc1_b), ff);
    ops::activation(s, c.hidden_act, ff, R * Fu);
    ops::linear(s, ff, R, Fu, view_of(lw.fc2_w), Du, view_of_or_empty(lw.fc2_b), h);
    ops::bias_residual(s, h, View{}, y, y, R, Du);
  }

  // LM head + final_logits_bias, slice by slice into the [rows, V] logits.
  ops::layer_norm(s, y, view_of(ln_final_g_), view_of(ln_final_b_), h, R, Du, eps);
  for (const HeadSlice& hs : head_)
    linear_into(s, h, R, Du, view_of(hs.w), hs.end - hs.begin, view_of(hs.bias), view_of(st.logits), uint32_t(V),
                hs.begin);
  Tensor logits = Tensor::uninitialized({N, V});
  s.download(st.logits, logits.data(), uint64_t(N * V) * 4);
  for (int64_t i = 0; i < logits.numel(); ++i)
    if (!std::isfinite(logits[i])) throw VulkanError("the Vulkan logits hold non-finite values", VK_ERROR_UNKNOWN);
  for (const auto& [name, t] : s.kernel_times()) {  // the stream's totals grow over the session
    double& seen = st.profiled[name];
    prof::add(("vulkan decoder " + name).c_str(), t.seconds - seen);
    seen = t.seconds;
  }
  st.length += 1;
  return logits;
}

void VulkanPegasusDecoder::reorder(DecoderState& st, const std::vector<int32_t>& src) {
  const int64_t N = st.rows;
  if (int64_t(src.size()) != N)
    throw Error("reorder: " + std::to_string(src.size()) + " rows for a cache of " + std::to_string(N));
  bool identity = true;
  for (int64_t i = 0; i < N; ++i) {
    if (src[size_t(i)] < 0 || src[size_t(i)] >= N)
      throw Error("reorder: row " + std::to_string(src[size_t(i)]) + " does not exist");
    identity = identity && src[size_t(i)] == i;
  }
  if (identity) return;
  // Row gather [rows, capacity * D] -> spare, then the spare becomes the cache (and the old cache
  // the next spare); kernels run in recording order, so one spare serves every layer.
  Stream& s = *st.stream;
  s.upload(st.row_ids, src.data(), uint64_t(N) * 4);
  const uint32_t cols = uint32_t(st.capacity * config_.hidden_size);
  for (std::vector<Buffer>* caches : {&st.self_k, &st.self_v})
    for (Buffer& b : *caches) {
      ops::embedding(s, view_of(st.row_ids), 0, view_of(b), 0, int32_t(N), view_of(st.spare), uint32_t(N), cols, false);
      std::swap(b, st.spare);
    }
  const std::vector<int32_t> sources = st.row_source;
  for (int64_t i = 0; i < N; ++i) st.row_source[size_t(i)] = sources[size_t(src[size_t(i)])];
}

}  // namespace bb::vk
