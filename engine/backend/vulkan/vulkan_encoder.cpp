#include "engine/backend/vulkan/vulkan_encoder.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <set>

#include "engine/backend/vulkan/vk_error.h"
#include "engine/backend/vulkan/vk_kernel_checks.h"
#include "engine/backend/vulkan/vk_ops.h"
#include "engine/backend/vulkan/vk_pipelines.h"
#include "engine/core/profiler.h"

namespace bb::vk {

namespace {

uint32_t u32(int64_t v, const char* what) {
  if (v < 0 || v > int64_t(std::numeric_limits<uint32_t>::max()))
    throw VulkanError(std::string(what) + " exceeds the 32-bit indexing of the kernels", VK_ERROR_FEATURE_NOT_PRESENT);
  return uint32_t(v);
}

// One slice of the batch whose activations live in their own buffers (each within one binding).
struct Group {
  int64_t first = 0, count = 0;  // batch rows
  Buffer ids, mask, x, q, k, v, ctx, tmp, ff, lse;
};

// Model shapes whose attention pipelines were already checked on a device (per process).
std::mutex g_checked_mutex;
std::set<std::string> g_checked;

std::string check_key(const Device& d, const ModelConfig& c) {
  return std::to_string(reinterpret_cast<uintptr_t>(&d)) + "|" + std::to_string(c.block_size) + "|" +
         std::to_string(c.head_dim()) + "|" + std::to_string(c.num_random_blocks);
}

bool first_check_of(const Device& d, const ModelConfig& c) {
  std::lock_guard<std::mutex> lock(g_checked_mutex);
  return g_checked.insert(check_key(d, c)).second;
}

void forget_check(const Device& d, const ModelConfig& c) {
  std::lock_guard<std::mutex> lock(g_checked_mutex);
  g_checked.erase(check_key(d, c));
}

// The attention kernels at this model's block size and head_dim (throws VulkanError on a mismatch).
void check_model_shape(Stream& s, const ModelConfig& c) {
  checks::SparseShape sp;
  sp.block = c.block_size;
  sp.random = c.num_random_blocks;
  sp.len = int64_t(c.block_size) * (2 * c.num_random_blocks + 6);
  sp.heads = 2;
  sp.head_dim = int(c.head_dim());
  sp.padded_tail = c.block_size / 2 + 1;
  sp.split_blocks = 4;  // the global query blocks' lists (2r + 6 blocks) run as merged parts
  checks::DenseShape de;
  de.Lq = de.Lk = 2 * 64 + 3;
  de.head_dim = int(c.head_dim());
  de.padded_tail = 5;
  de.lowest_penalty = true;
  for (const checks::Check& ch : {checks::block_sparse_attention(s, sp), checks::dense_attention(s, de)})
    if (!ch.passed) throw VulkanError("self-test mismatch at this model's shape: " + ch.line(), VK_ERROR_UNKNOWN);
}

attn::BlockPattern layer_pattern(const ModelConfig& c, const EncoderPass& pass, int layer) {
  attn::TableParams tp;
  tp.seq_len = pass.len;
  tp.block = c.block_size;
  tp.num_random = c.num_random_blocks;
  tp.heads = c.num_attention_heads;
  tp.layer = layer;
  tp.max_position_embeddings = c.max_position_embeddings;
  tp.mode = pass.random_blocks;
  return attn::BlockPattern(pass.len, c.block_size, c.num_random_blocks, c.num_attention_heads,
                            attn::random_block_table(tp));
}

}  // namespace

void check_attention_at_model_shape(Stream& s, Device& device, const ModelConfig& c) {
  if (!first_check_of(device, c)) return;
  // The start-up self-test ran the attention kernels at small head_dim / block; specialization
  // constants make this model's sizes different pipelines, so check those too (once per device).
  try {
    check_model_shape(s, c);
  } catch (const VulkanError&) {
    forget_check(device, c);
    throw;
  } catch (const Error& e) {  // the check's own inputs, never the user's: still a backend failure
    forget_check(device, c);
    throw VulkanError(std::string("model-shape self-test could not run: ") + e.what(), VK_ERROR_UNKNOWN);
  }
}

VulkanEncoder::VulkanEncoder(std::shared_ptr<Device> device, const BigBirdEncoderWeights& w, const ModelConfig& c,
                             VulkanEncoderOptions options)
    : device_(std::move(device)), config_(c), options_(options) {
  const int64_t H = c.hidden_size, I = c.intermediate_size, d = c.head_dim();
  if (d > int64_t(ops::max_head_dim(*device_)))
    throw VulkanError(
        "head_dim " + std::to_string(d) + " exceeds what the attention kernels support on " + device_->info().name,
        VK_ERROR_FEATURE_NOT_PRESENT);
  if (options_.fp16_weights && !device_->fp16_storage_enabled()) options_.fp16_weights = false;
  Stream s(*device_);
  word_ = upload_table(s, w.word, c.vocab_size, H, "word_embeddings");
  position_ = upload_table(s, w.position, c.max_position_embeddings, H, "position_embeddings");
  token_type_ = upload_table(s, w.token_type, std::max<int64_t>(c.type_vocab_size, 1), H, "token_type_embeddings");
  emb_ln_g_ = upload_vector(s, w.emb_ln_g, H);
  emb_ln_b_ = upload_vector(s, w.emb_ln_b, H);
  for (const BigBirdLayerWeights& lw : w.layers) {
    Layer L;
    L.q_w = upload_matrix(s, lw.q_w, H, H, "attention.self.query.weight");
    L.k_w = upload_matrix(s, lw.k_w, H, H, "attention.self.key.weight");
    L.v_w = upload_matrix(s, lw.v_w, H, H, "attention.self.value.weight");
    L.o_w = upload_matrix(s, lw.o_w, H, H, "attention.output.dense.weight");
    L.ff1_w = upload_matrix(s, lw.ff1_w, I, H, "intermediate.dense.weight");
    L.ff2_w = upload_matrix(s, lw.ff2_w, H, I, "output.dense.weight");
    L.q_b = upload_vector(s, lw.q_b, H);
    L.k_b = upload_vector(s, lw.k_b, H);
    L.v_b = upload_vector(s, lw.v_b, H);
    L.o_b = upload_vector(s, lw.o_b, H);
    L.ff1_b = upload_vector(s, lw.ff1_b, I);
    L.ff2_b = upload_vector(s, lw.ff2_b, H);
    L.ln1_g = upload_vector(s, lw.ln1_g, H);
    L.ln1_b = upload_vector(s, lw.ln1_b, H);
    L.ln2_g = upload_vector(s, lw.ln2_g, H);
    L.ln2_b = upload_vector(s, lw.ln2_b, H);
    layers_.push_back(std::move(L));
  }
  if (options_.shape_check) check_attention_at_model_shape(s, *device_, c);
  s.flush();
  device_->pipelines().save();
}

VulkanEncoder::~VulkanEncoder() = default;

VulkanEncoder::Table VulkanEncoder::upload_table(Stream& s, const float* data, int64_t rows, int64_t cols,
                                                 const char* name) {
  Table t;
  t.rows = rows;
  const uint64_t row_bytes = uint64_t(cols) * 4;
  const uint64_t limit = std::min(device_->max_binding_bytes(), device_->allocator().max_allocation());
  if (row_bytes > limit)
    throw VulkanError(std::string(name) + ": one row exceeds maxStorageBufferRange", VK_ERROR_FEATURE_NOT_PRESENT);
  const int64_t per_chunk = int64_t(limit / row_bytes);
  for (int64_t r0 = 0; r0 < rows; r0 += per_chunk) {
    const int64_t n = std::min(per_chunk, rows - r0);
    t.chunks.push_back(upload_floats(s, data + r0 * cols, n * cols));
    t.first_row.push_back(int32_t(r0));
  }
  return t;
}

VulkanEncoder::Matrix VulkanEncoder::upload_matrix(Stream& s, const float* data, int64_t rows, int64_t cols,
                                                   const char* name) {
  const uint64_t bytes = uint64_t(rows) * cols * (options_.fp16_weights ? 2 : 4);
  if (bytes > device_->max_binding_bytes())
    throw VulkanError(std::string(name) + " (" + std::to_string(bytes) + " bytes) exceeds maxStorageBufferRange (" +
                          std::to_string(device_->max_binding_bytes()) + ")",
                      VK_ERROR_FEATURE_NOT_PRESENT);
  Matrix m;
  m.fp16 = options_.fp16_weights;
  m.data = m.fp16 ? upload_halves(s, data, rows * cols) : upload_floats(s, data, rows * cols);
  return m;
}

Buffer VulkanEncoder::upload_vector(Stream& s, const float* data, int64_t n) {
  if (!data) return Buffer();
  return upload_floats(s, data, n);
}

EncoderResult VulkanEncoder::run(const EncoderPass& pass) {
  prof::Scope scope("vulkan encoder (wall)");
  const ModelConfig& c = config_;
  const int64_t B = pass.batch, L = pass.len, H = c.hidden_size, I = c.intermediate_size, d = c.head_dim();
  const int heads = c.num_attention_heads;
  const float eps = float(c.layer_norm_eps);
  const bool sparse = pass.decision.type != attn::AttentionType::OriginalFull;
  const bool block_sparse = pass.decision.type == attn::AttentionType::BlockSparse;
  if (B <= 0 || L <= 0) throw Error("vulkan encoder: empty batch");

  Stream s(*device_);
  s.set_timing(prof::enabled());
  Device& dev = *device_;

  // Batch rows per group: every activation buffer (and a captured head) must fit one binding.
  const bool any_capture = pass.capture.enabled;
  uint64_t per_row_bytes = uint64_t(L) * uint64_t(std::max(H, I)) * 4;
  if (any_capture) {  // one head's captured probabilities per batch row
    const uint64_t nb = uint64_t(L / c.block_size), b = uint64_t(c.block_size);
    const uint64_t widest = uint64_t(std::max<int64_t>(int64_t(nb), 5 + c.num_random_blocks));  // key blocks per row
    const uint64_t head_bytes = block_sparse ? nb * widest * b * b * 4 : uint64_t(L) * uint64_t(L) * 4;
    per_row_bytes = std::max(per_row_bytes, head_bytes);
  }
  const uint64_t limit = std::min(dev.max_binding_bytes(), dev.allocator().max_allocation());
  if (per_row_bytes > limit)
    throw VulkanError("one sequence of " + std::to_string(L) + " tokens needs " + std::to_string(per_row_bytes) +
                          "-byte buffers, beyond maxStorageBufferRange (" + std::to_string(limit) + ")",
                      VK_ERROR_FEATURE_NOT_PRESENT);
  const int64_t per_group = std::max<int64_t>(1, std::min<int64_t>(B, int64_t(limit / per_row_bytes)));

  std::vector<Group> groups;
  for (int64_t b0 = 0; b0 < B; b0 += per_group) {
    Group g;
    g.first = b0;
    g.count = std::min(per_group, B - b0);
    const int64_t rows = g.count * L;
    u32(rows * std::max(H, I), "an activation buffer");
    std::vector<int32_t> ids(size_t(3 * rows));
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t src = b0 * L + r;
      ids[size_t(r)] = int32_t(pass.input_ids[src]);
      ids[size_t(rows + r)] = int32_t(pass.token_type_ids[src]);
      ids[size_t(2 * rows + r)] = int32_t(r % L);
    }
    g.ids = upload_ints(s, ids.data(), int64_t(ids.size()));
    g.mask = upload_floats(s, pass.mask + b0 * L, rows);
    g.x = make_buffer(dev, rows * H);
    g.q = make_buffer(dev, rows * H);
    g.k = make_buffer(dev, rows * H);
    g.v = make_buffer(dev, rows * H);
    g.ctx = make_buffer(dev, rows * H);
    g.tmp = make_buffer(dev, rows * H);
    g.ff = make_buffer(dev, rows * I);
    if (any_capture) g.lse = make_buffer(dev, g.count * heads * L);
    groups.push_back(std::move(g));
  }

  EncoderResult res;
  auto keep_hidden = [&](std::vector<Tensor>& into) {
    Tensor t = Tensor::uninitialized({B, L, H});
    for (const Group& g : groups) s.download(g.x, t.data() + g.first * L * H, uint64_t(g.count * L * H) * 4);
    into.push_back(std::move(t));
  };

  // Embeddings: word + token type + position (in the CPU's order), then LayerNorm.
  for (Group& g : groups) {
    const uint32_t rows = uint32_t(g.count * L);
    bool first = true;
    const std::pair<const Table*, uint32_t> tables[] = {{&word_, 0}, {&token_type_, rows}, {&position_, 2 * rows}};
    for (const auto& [table, ids_off] : tables)
      for (size_t ci = 0; ci < table->chunks.size(); ++ci) {
        const int32_t r0 = table->first_row[ci];
        const int32_t r1 = ci + 1 < table->chunks.size() ? table->first_row[ci + 1] : int32_t(table->rows);
        ops::embedding(s, view_of(g.ids), ids_off, view_of(table->chunks[ci]), r0, r1, view_of(g.x), rows, uint32_t(H),
                       !first);
        first = false;
      }
    ops::layer_norm(s, view_of(g.x), view_of(emb_ln_g_), view_of(emb_ln_b_), view_of(g.x), rows, uint32_t(H), eps);
  }
  if (pass.keep_hidden_states) keep_hidden(res.hidden_states);

  for (int l = 0; l < int(layers_.size()); ++l) {
    const Layer& lw = layers_[size_t(l)];
    attn::BlockPattern pattern;
    ops::SparseLists lists;
    Buffer bias_grid;
    if (sparse) {
      pattern = layer_pattern(c, pass, l);
      res.random_tables.push_back(pattern.table());
      if (block_sparse) {
        lists = ops::upload_pattern(s, pattern, false);
      } else {  // simulated_sparse: the CPU's additive -10000 / log(multiplicity) per block pair
        std::vector<float> grid;
        for (int h = 0; h < heads; ++h)
          for (uint8_t m : pattern.multiplicity(h))
            grid.push_back(m == 0 ? -10000.0f : (m == 1 ? 0.0f : std::log(float(m))));
        bias_grid = upload_floats(s, grid.data(), int64_t(grid.size()));
      }
    }
    const bool capture = pass.capture.wants(l);
    if (capture) res.attentions.emplace_back(size_t(B));

    for (Group& g : groups) {
      const uint32_t rows = uint32_t(g.count * L);
      ops::linear(s, view_of(g.x), rows, uint32_t(H), view_of(lw.q_w.data), uint32_t(H), view_of_or_empty(lw.q_b),
                  view_of(g.q), lw.q_w.fp16);
      ops::linear(s, view_of(g.x), rows, uint32_t(H), view_of(lw.k_w.data), uint32_t(H), view_of_or_empty(lw.k_b),
                  view_of(g.k), lw.k_w.fp16);
      ops::linear(s, view_of(g.x), rows, uint32_t(H), view_of(lw.v_w.data), uint32_t(H), view_of_or_empty(lw.v_b),
                  view_of(g.v), lw.v_w.fp16);

      if (block_sparse) {
        ops::SparseAttention a;
        a.q = view_of(g.q);
        a.k = view_of(g.k);
        a.v = view_of(g.v);
        a.ctx = view_of(g.ctx);
        a.mask = view_of(g.mask);
        if (capture) a.lse = view_of(g.lse);
        a.lists = &lists;
        a.heads = uint32_t(heads);
        a.head_dim = uint32_t(d);
        a.L = uint32_t(L);
        a.batch = uint32_t(g.count);
        a.ldq = a.ldkv = a.ldc = uint32_t(H);
        a.q_batch = a.kv_batch = a.c_batch = uint32_t(L * H);
        ops::block_sparse_attention(s, a);
        if (capture) {
          const int nb = int(lists.nb);
          for (int64_t b = g.first; b < g.first + g.count; ++b) {
            attn::AttentionMap& m = res.attentions.back()[size_t(b)];
            m.blocked = true;
            m.heads = heads;
            m.query_len = m.key_len = L;
            m.block = c.block_size;
            m.num_blocks = nb;
            m.key_blocks.assign(lists.host_blocks.begin(), lists.host_blocks.end());
            m.list_offset.assign(lists.host_offsets.begin(), lists.host_offsets.end());
            m.tile_offset.assign(lists.host_tile_offsets.begin(), lists.host_tile_offsets.end());
            m.tiles.assign(size_t(m.tile_offset.back()), 0.0f);
          }
          for (int h = 0; h < heads; ++h) {
            const int64_t t0 = int64_t(lists.host_tile_offsets[size_t(h) * nb]);
            const int64_t per = int64_t(lists.host_tile_offsets[size_t(h + 1) * nb]) - t0;
            Buffer probs = make_buffer(dev, per * g.count);
            ops::block_sparse_attention_probs(s, a, uint32_t(h), view_of(probs));
            for (int64_t b = 0; b < g.count; ++b)
              s.download(probs, res.attentions.back()[size_t(g.first + b)].tiles.data() + t0, uint64_t(per) * 4,
                         uint64_t(b * per) * 4);
          }
        }
      } else {
        ops::DenseAttention a;
        a.q = view_of(g.q);
        a.k = view_of(g.k);
        a.v = view_of(g.v);
        a.ctx = view_of(g.ctx);
        a.key_mask = view_of(g.mask);
        if (capture) a.lse = view_of(g.lse);
        a.Lq = a.Lk = uint32_t(L);
        a.heads = uint32_t(heads);
        a.head_dim = uint32_t(d);
        a.batch = uint32_t(g.count);
        a.ldq = a.ldkv = a.ldc = uint32_t(H);
        a.q_batch = a.kv_batch = a.c_batch = uint32_t(L * H);
        if (sparse) {
          a.penalty = -10000.0f;
          a.block_bias = view_of(bias_grid);
          a.block = uint32_t(c.block_size);
          a.nbq = a.nbk = uint32_t(pattern.num_blocks());
          a.query_mask = view_of(g.mask);
          a.zero_padded_queries = true;
        } else {
          a.penalty = std::numeric_limits<float>::lowest();  // HF's extended attention mask
        }
        ops::dense_attention(s, a);
        if (capture) {
          const int64_t per = L * L;
          for (int64_t b = g.first; b < g.first + g.count; ++b) {
            attn::AttentionMap& m = res.attentions.back()[size_t(b)];
            m.blocked = false;
            m.heads = heads;
            m.query_len = m.key_len = L;
            m.dense.assign(size_t(heads * per), 0.0f);
          }
          for (int h = 0; h < heads; ++h) {
            Buffer probs = make_buffer(dev, per * g.count);
            ops::dense_attention_probs(s, a, uint32_t(h), view_of(probs));
            for (int64_t b = 0; b < g.count; ++b)
              s.download(probs, res.attentions.back()[size_t(g.first + b)].dense.data() + h * per, uint64_t(per) * 4,
                         uint64_t(b * per) * 4);
          }
        }
      }

      // x1 = LN(x + Wo ctx + bo); y = LN(x1 + W2 act(W1 x1 + b1) + b2)
      ops::linear(s, view_of(g.ctx), rows, uint32_t(H), view_of(lw.o_w.data), uint32_t(H), view_of_or_empty(lw.o_b),
                  view_of(g.tmp), lw.o_w.fp16);
      ops::bias_residual(s, view_of(g.tmp), View{}, view_of(g.x), view_of(g.tmp), rows, uint32_t(H));
      ops::layer_norm(s, view_of(g.tmp), view_of(lw.ln1_g), view_of(lw.ln1_b), view_of(g.tmp), rows, uint32_t(H), eps);
      ops::linear(s, view_of(g.tmp), rows, uint32_t(H), view_of(lw.ff1_w.data), uint32_t(I), view_of_or_empty(lw.ff1_b),
                  view_of(g.ff), lw.ff1_w.fp16);
      ops::activation(s, c.hidden_act, view_of(g.ff), uint32_t(rows * I));
      ops::linear(s, view_of(g.ff), rows, uint32_t(I), view_of(lw.ff2_w.data), uint32_t(H), view_of_or_empty(lw.ff2_b),
                  view_of(g.x), lw.ff2_w.fp16);
      ops::bias_residual(s, view_of(g.x), View{}, view_of(g.tmp), view_of(g.x), rows, uint32_t(H));
      ops::layer_norm(s, view_of(g.x), view_of(lw.ln2_g), view_of(lw.ln2_b), view_of(g.x), rows, uint32_t(H), eps);
    }
    if (pass.keep_hidden_states) keep_hidden(res.hidden_states);
    if (pass.on_layer_done) {
      s.flush();  // progress reports work that has run, not work that was recorded
      pass.on_layer_done(l, int(layers_.size()), capture ? &res.attentions.back() : nullptr);
    }
  }

  res.hidden = Tensor::uninitialized({B, L, H});
  for (const Group& g : groups) s.download(g.x, res.hidden.data() + g.first * L * H, uint64_t(g.count * L * H) * 4);
  for (int64_t i = 0; i < res.hidden.numel(); ++i)
    if (!std::isfinite(res.hidden[i])) throw VulkanError("the Vulkan result holds non-finite values", VK_ERROR_UNKNOWN);
  for (const auto& [name, t] : s.kernel_times()) {
    Stream::KernelTime& acc = kernel_times_[name];
    acc.seconds += t.seconds;
    acc.dispatches += t.dispatches;
    prof::add(("vulkan " + name).c_str(), t.seconds);
  }
  if (prof::enabled()) {
    prof::add("vulkan longest submission (wall)", s.longest_submission_seconds());
    prof::add("vulkan submissions (count)", double(s.submissions()));
  }
  dev.pipelines().save();
  return res;
}

}  // namespace bb::vk
