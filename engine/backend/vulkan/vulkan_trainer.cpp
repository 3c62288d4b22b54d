#include "engine/backend/vulkan/vulkan_trainer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>

#include "engine/backend/vulkan/vk_error.h"
#include "engine/backend/vulkan/vk_ops.h"
#include "engine/backend/vulkan/vk_stream.h"
#include "engine/backend/vulkan/vk_train_checks.h"
#include "engine/backend/vulkan/vk_train_ops.h"
#include "engine/backend/vulkan/vulkan_encoder.h"
#include "engine/core/error.h"
#include "engine/core/profiler.h"
#include "engine/train/dropout.h"
#include "engine/train/encoder_layer_train.h"
#include "engine/train/heads_train.h"

namespace bb::vk {

namespace {

uint32_t u32(int64_t v, const char* what) {
  if (v < 0 || v > int64_t(std::numeric_limits<uint32_t>::max()))
    throw VulkanError(std::string(what) + " exceeds the 32-bit indexing of the kernels", VK_ERROR_FEATURE_NOT_PRESENT);
  return uint32_t(v);
}

// Devices whose training kernels passed their checks in this process.
std::mutex g_checked_mutex;
std::set<const Device*> g_checked;

void check_training_kernels(Stream& s, Device& device) {
  {
    std::lock_guard<std::mutex> lock(g_checked_mutex);
    if (g_checked.count(&device)) return;
  }
  for (const checks::Check& c : checks::training_suite(s, device.options().fault.mismatch))
    if (!c.passed) throw VulkanError("training self-test mismatch: " + c.line(), VK_ERROR_UNKNOWN);
  std::lock_guard<std::mutex> lock(g_checked_mutex);
  g_checked.insert(&device);
}

// As bigbird_trainer_forward.cpp: the layer's random-block plan for the padded batch.
attn::BlockPattern layer_pattern(const ModelConfig& c, const train::PaddedBatch& batch, int layer) {
  attn::TableParams tp;
  tp.seq_len = batch.padded;
  tp.block = c.block_size;
  tp.num_random = c.num_random_blocks;
  tp.heads = c.num_attention_heads;
  tp.layer = layer;
  tp.max_position_embeddings = c.max_position_embeddings;
  tp.mode = batch.random_blocks;
  return attn::BlockPattern(batch.padded, c.block_size, c.num_random_blocks, c.num_attention_heads,
                            attn::random_block_table(tp));
}

// Saved activations of one layer (as train::LayerActivations, plus what the device kernels need).
struct LayerState {
  Buffer x, q, k, v, ctx, lse, ln1_in, x1, ff_pre, ln2_in;
  Buffer mask_attn_out, mask_ffn_out;  // dropout masks (empty when p = 0)
  std::vector<Buffer> prob_masks;      // original_full probability dropout: one [B, P, P] mask per head
  ops::SparseLists lists;              // block_sparse, with the transpose for the backward
};

// Frees a layer's buffers once the work recorded so far has run.
void retire(Stream& s, LayerState& ls) {
  for (Buffer* b : {&ls.x, &ls.q, &ls.k, &ls.v, &ls.ctx, &ls.lse, &ls.ln1_in, &ls.x1, &ls.ff_pre, &ls.ln2_in,
                    &ls.mask_attn_out, &ls.mask_ffn_out, &ls.lists.storage})
    if (!b->empty()) s.release_after_flush(std::move(*b));
  for (Buffer& b : ls.prob_masks) s.release_after_flush(std::move(b));
  ls = LayerState();
}

// A dropout mask (0 or 1/(1-p)) for stream `key`, drawn on the host exactly as dropout_forward;
// empty when p = 0.
Buffer dropout_mask(Stream& s, int64_t n, float p, uint64_t key) {
  if (p <= 0.0f) return Buffer();
  const float scale = 1.0f / (1.0f - p);
  std::vector<float> mk(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) mk[size_t(i)] = train::dropout_uniform(key, uint64_t(i)) >= p ? scale : 0.0f;
  return upload_floats(s, mk.data(), n);
}

void copy(Stream& s, const Buffer& from, const Buffer& to, uint32_t n) {
  ops::bias_residual(s, view_of(from), View{}, View{}, view_of(to), 1, n);
}

void apply_mask(Stream& s, const Buffer& mask, const Buffer& x, uint32_t n) {
  if (!mask.empty()) ops::scale_mask(s, view_of(x), view_of(mask), view_of(x), n);
}

Buffer upload_plan(Stream& s, const ops::RowScatter& plan) {
  return upload_ints(s, reinterpret_cast<const int32_t*>(plan.index.data()), int64_t(plan.index.size()));
}

// The labels of one head as the CPU validates them (same messages).
void check_class_label(int64_t label, int64_t row, int64_t classes) {
  if (label == -100) return;
  if (label < 0 || label >= classes)
    throw Error("label " + std::to_string(label) + " at row " + std::to_string(row) + " is outside 0.." +
                std::to_string(classes - 1) + " (and is not the ignore index -100)");
}

}  // namespace

VulkanTrainer::VulkanTrainer(std::shared_ptr<Device> device, const train::TrainableBigBird& m)
    : device_(std::move(device)), config_(m.config()), head_(m.head()) {
  if (head_ == Head::None)
    throw VulkanError("training the " + to_string(head_) + " head is not supported on the GPU yet",
                      VK_ERROR_FEATURE_NOT_PRESENT);
  if (config_.head_dim() > int64_t(ops::max_head_dim(*device_)))
    throw VulkanError("head_dim " + std::to_string(config_.head_dim()) + " exceeds what the attention kernels support",
                      VK_ERROR_FEATURE_NOT_PRESENT);
  Stream s(*device_);
  check_training_kernels(s, *device_);
  check_attention_at_model_shape(s, *device_, config_);
  const uint64_t limit = std::min(device_->max_binding_bytes(), device_->allocator().max_allocation());
  for (const std::string& name : m.params().names()) {
    const Tensor& t = m.params().get(name);
    const Tensor& gt = m.grads().get(name);
    if (uint64_t(t.numel()) * 4 > limit)
      throw VulkanError(name + " (" + std::to_string(t.numel() * 4) + " bytes) exceeds one storage-buffer binding",
                        VK_ERROR_FEATURE_NOT_PRESENT);
    Param p;
    p.name = name;
    p.shape = t.shape();
    p.n = t.numel();
    p.w = upload_floats(s, t.data(), p.n);
    p.g = upload_floats(s, gt.data(), p.n);
    by_pointer_[t.data()] = params_.size();
    by_pointer_[gt.data()] = params_.size();  // its gradient's host pointer names the same entry
    params_.push_back(std::move(p));
  }
  s.flush();
}

VulkanTrainer::~VulkanTrainer() = default;

VulkanTrainer::Param& VulkanTrainer::param(const float* host_weight) {
  const auto it = by_pointer_.find(host_weight);
  if (it == by_pointer_.end()) throw Error("vulkan trainer: a weight of the model is not one of its parameters");
  return params_[it->second];
}

View VulkanTrainer::w(const float* host_weight) { return host_weight ? view_of(param(host_weight).w) : View{}; }
View VulkanTrainer::g(const float* host_weight) { return host_weight ? view_of(param(host_weight).g) : View{}; }

train::StepResult VulkanTrainer::forward_backward(const train::TrainableBigBird& m, const train::TrainBatch& in,
                                                  const train::StepOptions& o, bool want_hidden) {
  prof::Scope scope("vulkan train step (wall)");
  const ModelConfig& c = config_;
  if (m.head() != head_) throw Error("vulkan trainer: the model's head changed");
  const train::PaddedBatch batch = train::prepare_batch(m, in, o);
  const bool qa = head_ == Head::QuestionAnswering;
  const bool has_targets = qa ? !in.start_positions.empty() : !in.labels.empty();
  if (o.train && !has_targets)
    throw Error(qa ? "training QA needs start_positions and end_positions" : "training needs labels");
  const train::DropoutSettings drop = train::dropout_settings(m, o);
  const bool backward = o.train && o.backward;
  const attn::AttentionType type = batch.decision.type;
  if (type == attn::AttentionType::SimulatedSparse)
    throw VulkanError("simulated_sparse training is not supported on the GPU yet", VK_ERROR_FEATURE_NOT_PRESENT);
  const bool sparse = type == attn::AttentionType::BlockSparse;

  const BigBirdEncoderWeights& W = m.weights();
  const train::EncoderGrads G = m.encoder_grads();
  const train::HeadWeights& HW = m.head_weights();
  const int64_t B = batch.batch, P = batch.padded, H = c.hidden_size, I = c.intermediate_size, L = batch.len;
  const int heads = c.num_attention_heads;
  const uint32_t rows = u32(B * P, "the batch"), uH = uint32_t(H), uI = uint32_t(I);
  const float eps = float(c.layer_norm_eps);
  Device& dev = *device_;
  const uint64_t limit = std::min(dev.max_binding_bytes(), dev.allocator().max_allocation());
  if (uint64_t(rows) * uint64_t(std::max(H, I)) * 4 > limit ||
      (!sparse && uint64_t(B) * uint64_t(P) * uint64_t(P) * 4 > limit))
    throw VulkanError("a batch of " + std::to_string(B) + " x " + std::to_string(P) +
                          " tokens needs buffers beyond one storage-buffer binding",
                      VK_ERROR_FEATURE_NOT_PRESENT);

  train::StepResult res;
  res.decision = batch.decision;
  for (int64_t i = 0; i < batch.mask.numel(); ++i) res.tokens += batch.mask[i] != 0.0f;

  Stream s(dev);
  s.set_timing(prof::enabled());
  int64_t saved_bytes = 0;
  auto act_buffer = [&](int64_t n, bool saved = true) {
    if (saved) saved_bytes += n * 4;
    return make_buffer(dev, n);
  };

  // ---- embeddings: word + type + position (the CPU's order), dropout, LayerNorm ----
  std::vector<int32_t> ids(size_t(3) * rows);
  for (uint32_t r = 0; r < rows; ++r) {
    ids[r] = int32_t(batch.ids[r]);
    ids[rows + r] = int32_t(batch.types[r]);
    ids[2 * rows + r] = int32_t(r % P);
  }
  Buffer d_ids = upload_ints(s, ids.data(), int64_t(ids.size()));
  Buffer d_mask = upload_floats(s, batch.mask.data(), rows);
  Buffer emb_ln_in = act_buffer(rows * H);
  ops::embedding(s, view_of(d_ids), 0, w(W.word), 0, int32_t(c.vocab_size), view_of(emb_ln_in), rows, uH, false);
  ops::embedding(s, view_of(d_ids), rows, w(W.token_type), 0, int32_t(std::max<int64_t>(c.type_vocab_size, 1)),
                 view_of(emb_ln_in), rows, uH, true);
  ops::embedding(s, view_of(d_ids), 2 * rows, w(W.position), 0, int32_t(c.max_position_embeddings), view_of(emb_ln_in),
                 rows, uH, true);
  Buffer emb_mask = dropout_mask(s, rows * H, drop.hidden, train::dropout_key(drop.stream, 0, train::kEmbeddingSite));
  if (!emb_mask.empty()) ops::scale_mask(s, view_of(emb_ln_in), view_of(emb_mask), view_of(emb_ln_in), rows * uH);
  Buffer x = act_buffer(rows * H);
  ops::layer_norm(s, view_of(emb_ln_in), w(W.emb_ln_g), w(W.emb_ln_b), view_of(x), rows, uH, eps);

  // ---- encoder layers, keeping what the backward needs ----
  const int layers = int(W.layers.size());
  std::vector<LayerState> st(static_cast<size_t>(layers));
  Buffer act = make_buffer(dev, int64_t(rows) * I);  // act(ff_pre): recomputed in backward
  auto dense_args = [&](LayerState& ls) {
    ops::DenseAttention a;
    a.q = view_of(ls.q);
    a.k = view_of(ls.k);
    a.v = view_of(ls.v);
    a.ctx = view_of(ls.ctx);
    a.key_mask = view_of(d_mask);
    a.lse = view_of(ls.lse);
    a.Lq = a.Lk = uint32_t(P);
    a.heads = uint32_t(heads);
    a.head_dim = uint32_t(c.head_dim());
    a.batch = uint32_t(B);
    a.ldq = a.ldkv = a.ldc = uH;
    a.q_batch = a.kv_batch = a.c_batch = uint32_t(P * H);
    a.penalty = std::numeric_limits<float>::lowest();  // HF's extended attention mask
    return a;
  };
  auto sparse_args = [&](LayerState& ls) {
    ops::SparseAttention a;
    a.q = view_of(ls.q);
    a.k = view_of(ls.k);
    a.v = view_of(ls.v);
    a.ctx = view_of(ls.ctx);
    a.mask = view_of(d_mask);
    a.lse = view_of(ls.lse);
    a.lists = &ls.lists;
    a.heads = uint32_t(heads);
    a.head_dim = uint32_t(c.head_dim());
    a.L = uint32_t(P);
    a.batch = uint32_t(B);
    a.ldq = a.ldkv = a.ldc = uH;
    a.q_batch = a.kv_batch = a.c_batch = uint32_t(P * H);
    return a;
  };
  for (int l = 0; l < layers; ++l) {
    const BigBirdLayerWeights& lw = W.layers[size_t(l)];
    LayerState& ls = st[size_t(l)];
    ls.x = std::move(x);
    for (Buffer* b : {&ls.q, &ls.k, &ls.v, &ls.ctx, &ls.ln1_in, &ls.x1, &ls.ln2_in}) *b = act_buffer(rows * H);
    ls.ff_pre = act_buffer(int64_t(rows) * I);
    ls.lse = act_buffer(B * heads * P);
    ops::linear(s, view_of(ls.x), rows, uH, w(lw.q_w), uH, w(lw.q_b), view_of(ls.q));
    ops::linear(s, view_of(ls.x), rows, uH, w(lw.k_w), uH, w(lw.k_b), view_of(ls.k));
    ops::linear(s, view_of(ls.x), rows, uH, w(lw.v_w), uH, w(lw.v_b), view_of(ls.v));
    if (sparse) {
      ls.lists = ops::upload_pattern(s, layer_pattern(c, batch, l), backward);
      ops::block_sparse_attention(s, sparse_args(ls));
    } else if (drop.attention > 0.0f) {
      // As train::attention_train_forward: element (h, i, j) of batch row b uses stream index
      // (h*P + i)*P + j of dropout_key(stream, layer + 1, site, b).
      const float scale = 1.0f / (1.0f - drop.attention);
      std::vector<View> views;
      for (int h = 0; h < heads; ++h) {
        std::vector<float> mk(size_t(B * P * P));
        for (int64_t b = 0; b < B; ++b) {
          const uint64_t key = train::dropout_key(drop.stream, uint64_t(l + 1), train::kAttentionProbSite, uint64_t(b));
          for (int64_t i = 0; i < P * P; ++i)
            mk[size_t(b * P * P + i)] =
                train::dropout_uniform(key, uint64_t(h * P * P + i)) >= drop.attention ? scale : 0.0f;
        }
        ls.prob_masks.push_back(upload_floats(s, mk.data(), int64_t(mk.size())));
        views.push_back(view_of(ls.prob_masks.back()));
      }
      ops::dense_attention_dropout(s, dense_args(ls), views);
    } else {
      ops::dense_attention(s, dense_args(ls));
    }
    ops::linear(s, view_of(ls.ctx), rows, uH, w(lw.o_w), uH, w(lw.o_b), view_of(ls.ln1_in));
    ls.mask_attn_out = dropout_mask(s, rows * H, drop.hidden,
                                    train::dropout_key(drop.stream, uint64_t(l + 1), train::kAttentionOutSite));
    if (!ls.mask_attn_out.empty())
      ops::scale_mask(s, view_of(ls.ln1_in), view_of(ls.mask_attn_out), view_of(ls.ln1_in), rows * uH);
    ops::bias_residual(s, view_of(ls.ln1_in), View{}, view_of(ls.x), view_of(ls.ln1_in), rows, uH);
    ops::layer_norm(s, view_of(ls.ln1_in), w(lw.ln1_g), w(lw.ln1_b), view_of(ls.x1), rows, uH, eps);
    ops::linear(s, view_of(ls.x1), rows, uH, w(lw.ff1_w), uI, w(lw.ff1_b), view_of(ls.ff_pre));
    copy(s, ls.ff_pre, act, rows * uI);
    ops::activation(s, c.hidden_act, view_of(act), rows * uI);
    ops::linear(s, view_of(act), rows, uI, w(lw.ff2_w), uH, w(lw.ff2_b), view_of(ls.ln2_in));
    ls.mask_ffn_out =
        dropout_mask(s, rows * H, drop.hidden, train::dropout_key(drop.stream, uint64_t(l + 1), train::kFfnOutSite));
    if (!ls.mask_ffn_out.empty())
      ops::scale_mask(s, view_of(ls.ln2_in), view_of(ls.mask_ffn_out), view_of(ls.ln2_in), rows * uH);
    ops::bias_residual(s, view_of(ls.ln2_in), View{}, view_of(ls.x1), view_of(ls.ln2_in), rows, uH);
    x = act_buffer(rows * H, l == layers - 1 ? false : true);
    ops::layer_norm(s, view_of(ls.ln2_in), w(lw.ln2_g), w(lw.ln2_b), view_of(x), rows, uH, eps);
    if (!backward) retire(s, ls);  // evaluation keeps nothing
  }
  const Buffer& hidden = x;  // [B*P, H]
  res.saved_activation_bytes = backward ? saved_bytes : 0;
  if (want_hidden) {
    res.last_hidden_state = Tensor::uninitialized({B, L, H});
    for (int64_t b = 0; b < B; ++b)
      s.download(hidden, res.last_hidden_state.data() + b * L * H, uint64_t(L * H) * 4, uint64_t(b * P * H) * 4);
  }

  // ---- the head: forward, loss, backward into dhidden ----
  const int64_t ones_n = std::max<int64_t>(rows, 1);
  Buffer ones;
  auto ones_view = [&]() {
    if (ones.empty()) {
      ones = make_buffer(dev, ones_n);
      ops::fill(s, view_of(ones), uint32_t(ones_n), 1.0f);
    }
    return view_of(ones);
  };
  Buffer dhidden = make_buffer(dev, rows * H);
  if (backward) ops::fill(s, view_of(dhidden), rows * uH, 0.0f);
  const uint64_t key_in = train::dropout_key(drop.stream, train::kHeadDropoutLayer, 0),
                 key_mid = train::dropout_key(drop.stream, train::kHeadDropoutLayer, 1);

  std::vector<int64_t> head_rows;
  std::vector<int32_t> targets;
  if (qa) {
    res.head = qa_head(s, m, batch, in, drop, o.grad_scale, backward, hidden, dhidden, ones_view());
  } else if (head_ == Head::SequenceClassification) {
    for (int64_t b = 0; b < B; ++b) head_rows.push_back(b * P);
    if (has_targets)
      for (int64_t b = 0; b < B; ++b) {
        check_class_label(in.labels[b], b, m.num_labels());
        targets.push_back(int32_t(in.labels[b]));
      }
  } else {
    for (int64_t b = 0; has_targets && b < B; ++b)
      for (int64_t i = 0; i < L; ++i) {
        const int64_t label = in.labels[b * L + i];
        if (label == -100) continue;
        if (label < 0 || label >= c.vocab_size)
          throw Error("MLM label " + std::to_string(label) + " at [" + std::to_string(b) + ", " + std::to_string(i) +
                      "] is outside the vocabulary (0.." + std::to_string(c.vocab_size - 1) + ") and is not -100");
        head_rows.push_back(b * P + i);
        targets.push_back(int32_t(label));
      }
  }
  const uint32_t n = uint32_t(head_rows.size());
  const int64_t classes = head_ == Head::SequenceClassification ? m.num_labels() : c.vocab_size;
  if (!qa && uint64_t(n) * uint64_t(classes) * 4 > limit)
    throw VulkanError("the head's logits exceed one storage-buffer binding", VK_ERROR_FEATURE_NOT_PRESENT);
  if (n > 0) {
    std::vector<int32_t> rows32(head_rows.begin(), head_rows.end());
    Buffer d_rows = upload_ints(s, rows32.data(), n);
    Buffer h0 = make_buffer(dev, int64_t(n) * H);
    ops::embedding(s, view_of(d_rows), 0, view_of(hidden), 0, int32_t(rows), view_of(h0), n, uH, false);
    Buffer pre = make_buffer(dev, int64_t(n) * H), hact = make_buffer(dev, int64_t(n) * H);
    Buffer logits = make_buffer(dev, int64_t(n) * classes), dlogits = make_buffer(dev, int64_t(n) * classes);
    Buffer tr, m_in, m_mid;
    const bool cls = head_ == Head::SequenceClassification;
    if (cls) {
      m_in = dropout_mask(s, int64_t(n) * H, drop.head, key_in);
      if (!m_in.empty()) ops::scale_mask(s, view_of(h0), view_of(m_in), view_of(h0), n * uH);
      ops::linear(s, view_of(h0), n, uH, w(HW.cls_dense_w), uH, w(HW.cls_dense_b), view_of(pre));
      copy(s, pre, hact, n * uH);
      ops::activation(s, c.hidden_act, view_of(hact), n * uH);
      m_mid = dropout_mask(s, int64_t(n) * H, drop.head, key_mid);
      if (!m_mid.empty()) ops::scale_mask(s, view_of(hact), view_of(m_mid), view_of(hact), n * uH);
      ops::linear(s, view_of(hact), n, uH, w(HW.cls_out_w), uint32_t(classes), w(HW.cls_out_b), view_of(logits));
    } else {
      ops::linear(s, view_of(h0), n, uH, w(HW.mlm_dense_w), uH, w(HW.mlm_dense_b), view_of(pre));
      copy(s, pre, hact, n * uH);
      ops::activation(s, c.hidden_act, view_of(hact), n * uH);
      tr = make_buffer(dev, int64_t(n) * H);
      ops::layer_norm(s, view_of(hact), w(HW.mlm_ln_g), w(HW.mlm_ln_b), view_of(tr), n, uH, eps);
      ops::linear(s, view_of(tr), n, uH, w(HW.mlm_decoder_w), uint32_t(classes), w(HW.mlm_decoder_b), view_of(logits));
    }
    if (cls || o.keep_logits) {
      res.head.logits = Tensor::uninitialized({int64_t(n), classes});
      s.download(logits, res.head.logits.data(), uint64_t(n) * uint64_t(classes) * 4);
    }
    if (has_targets) {
      int64_t count = 0;
      for (int32_t t : targets) count += t != -100;
      const float gscale = count > 0 ? float(double(o.grad_scale) / double(count)) : 0.0f;
      Buffer d_targets = upload_ints(s, targets.data(), n), loss_correct = make_buffer(dev, int64_t(n) * 2);
      ops::cross_entropy(s, view_of(logits), view_of(d_targets), view_of(loss_correct),
                         backward ? view_of(dlogits) : View{}, n, uint32_t(classes), uint32_t(classes), -100, gscale);
      const std::vector<float> lc = download_floats(s, loss_correct, int64_t(n) * 2);
      double total = 0;
      for (uint32_t r = 0; r < n; ++r) {
        total += lc[2 * r];
        res.head.correct += lc[2 * r + 1] != 0.0f;
      }
      res.head.count = count;
      res.head.loss = count > 0 ? total / double(count) : 0.0;
      if (!std::isfinite(res.head.loss)) throw VulkanError("the Vulkan training loss is not finite", VK_ERROR_UNKNOWN);
    }
    if (backward) {
      Buffer dh0 = make_buffer(dev, int64_t(n) * H), dact = make_buffer(dev, int64_t(n) * H);
      if (cls) {
        ops::linear_backward(s, view_of(dlogits), view_of(hact), w(HW.cls_out_w), n, uH, uint32_t(classes),
                             view_of(dact), g(HW.cls_out_w), g(HW.cls_out_b), ones_view());
        if (!m_mid.empty()) ops::scale_mask(s, view_of(dact), view_of(m_mid), view_of(dact), n * uH);
        ops::activation_backward(s, c.hidden_act, view_of(pre), view_of(dact), view_of(dact), n * uH);
        ops::linear_backward(s, view_of(dact), view_of(h0), w(HW.cls_dense_w), n, uH, uH, view_of(dh0),
                             g(HW.cls_dense_w), g(HW.cls_dense_b), ones_view());
        if (!m_in.empty()) ops::scale_mask(s, view_of(dh0), view_of(m_in), view_of(dh0), n * uH);
      } else {
        ops::linear_backward(s, view_of(dlogits), view_of(tr), w(HW.mlm_decoder_w), n, uH, uint32_t(classes),
                             view_of(dact), g(HW.mlm_decoder_w), g(HW.mlm_decoder_b), ones_view());
        ops::layer_norm_backward(s, view_of(dact), view_of(hact), w(HW.mlm_ln_g), view_of(dact), g(HW.mlm_ln_g),
                                 g(HW.mlm_ln_b), n, uH, eps);
        ops::activation_backward(s, c.hidden_act, view_of(pre), view_of(dact), view_of(dact), n * uH);
        ops::linear_backward(s, view_of(dact), view_of(h0), w(HW.mlm_dense_w), n, uH, uH, view_of(dh0),
                             g(HW.mlm_dense_w), g(HW.mlm_dense_b), ones_view());
      }
      const ops::RowScatter plan = ops::plan_row_scatter(head_rows);
      Buffer d_plan = upload_ints(s, reinterpret_cast<const int32_t*>(plan.index.data()), int64_t(plan.index.size()));
      ops::scatter_add_rows(s, view_of(dh0), view_of(d_plan), plan, view_of(dhidden), uH);
    }
    s.flush();  // the head's scratch buffers are released at the end of this block
  }
  if (!std::isfinite(res.head.loss)) throw VulkanError("the Vulkan training loss is not finite", VK_ERROR_UNKNOWN);
  if (!backward) {
    s.flush();
    return res;
  }

  // ---- encoder backward, layer by layer in reverse (bigbird_trainer_backward.cpp) ----
  Buffer dy = std::move(dhidden), dx = make_buffer(dev, rows * H), dx1 = make_buffer(dev, rows * H),
         dctx = make_buffer(dev, rows * H), dq = make_buffer(dev, rows * H), dk = make_buffer(dev, rows * H),
         dv = make_buffer(dev, rows * H), dff = make_buffer(dev, int64_t(rows) * I);
  Buffer delta = sparse ? make_buffer(dev, B * heads * P) : Buffer();
  for (int l = layers - 1; l >= 0; --l) {
    const BigBirdLayerWeights& lw = W.layers[size_t(l)];
    LayerState& ls = st[size_t(l)];
    // y = LN2(dropout(W2·act(ff_pre) + b2) + x1)
    ops::layer_norm_backward(s, view_of(dy), view_of(ls.ln2_in), w(lw.ln2_g), view_of(dy), g(lw.ln2_g), g(lw.ln2_b),
                             rows, uH, eps);
    copy(s, dy, dx1, rows * uH);  // residual
    if (!ls.mask_ffn_out.empty()) ops::scale_mask(s, view_of(dy), view_of(ls.mask_ffn_out), view_of(dy), rows * uH);
    copy(s, ls.ff_pre, act, rows * uI);
    ops::activation(s, c.hidden_act, view_of(act), rows * uI);
    ops::linear_backward(s, view_of(dy), view_of(act), w(lw.ff2_w), rows, uI, uH, view_of(dff), g(lw.ff2_w),
                         g(lw.ff2_b), ones_view());
    ops::activation_backward(s, c.hidden_act, view_of(ls.ff_pre), view_of(dff), view_of(dff), rows * uI);
    ops::linear_backward(s, view_of(dff), view_of(ls.x1), w(lw.ff1_w), rows, uH, uI, view_of(dx1), g(lw.ff1_w),
                         g(lw.ff1_b), ones_view(), true);
    // x1 = LN1(dropout(Wo·ctx + bo) + x)
    ops::layer_norm_backward(s, view_of(dx1), view_of(ls.ln1_in), w(lw.ln1_g), view_of(dx1), g(lw.ln1_g), g(lw.ln1_b),
                             rows, uH, eps);
    copy(s, dx1, dx, rows * uH);  // residual
    if (!ls.mask_attn_out.empty()) ops::scale_mask(s, view_of(dx1), view_of(ls.mask_attn_out), view_of(dx1), rows * uH);
    ops::linear_backward(s, view_of(dx1), view_of(ls.ctx), w(lw.o_w), rows, uH, uH, view_of(dctx), g(lw.o_w), g(lw.o_b),
                         ones_view());
    if (sparse) {
      ops::SparseAttentionGrad ag;
      ag.o = view_of(ls.ctx);
      ag.dout = view_of(dctx);
      ag.dq = view_of(dq);
      ag.dk = view_of(dk);
      ag.dv = view_of(dv);
      ag.delta = view_of(delta);
      ag.ldo = uH;
      ag.o_batch = uint32_t(P * H);
      ops::block_sparse_attention_backward(s, sparse_args(ls), ag);
    } else {
      ops::DenseAttentionGrad ag;
      ag.dout = view_of(dctx);
      ag.dq = view_of(dq);
      ag.dk = view_of(dk);
      ag.dv = view_of(dv);
      ag.ldo = uH;
      ag.o_batch = uint32_t(P * H);
      for (const Buffer& mk : ls.prob_masks) ag.prob_masks.push_back(view_of(mk));
      ops::dense_attention_backward(s, dense_args(ls), ag);
    }
    ops::linear_backward(s, view_of(dq), view_of(ls.x), w(lw.q_w), rows, uH, uH, view_of(dx), g(lw.q_w), g(lw.q_b),
                         ones_view(), true);
    ops::linear_backward(s, view_of(dk), view_of(ls.x), w(lw.k_w), rows, uH, uH, view_of(dx), g(lw.k_w), g(lw.k_b),
                         ones_view(), true);
    ops::linear_backward(s, view_of(dv), view_of(ls.x), w(lw.v_w), rows, uH, uH, view_of(dx), g(lw.v_w), g(lw.v_b),
                         ones_view(), true);
    std::swap(dy, dx);
    retire(s, ls);  // free as we go
  }

  // ---- embeddings: x0 = LN(dropout(word[ids] + type[types] + pos[t])) ----
  ops::layer_norm_backward(s, view_of(dy), view_of(emb_ln_in), w(W.emb_ln_g), view_of(dy), g(W.emb_ln_g), g(W.emb_ln_b),
                           rows, uH, eps);
  if (!emb_mask.empty()) ops::scale_mask(s, view_of(dy), view_of(emb_mask), view_of(dy), rows * uH);
  std::vector<int64_t> word_ids(batch.ids.data(), batch.ids.data() + rows),
      type_ids(batch.types.data(), batch.types.data() + rows), positions(rows);
  for (uint32_t r = 0; r < rows; ++r) positions[r] = r % P;
  const ops::RowScatter plans[3] = {ops::plan_row_scatter(word_ids, c.pad_token_id), ops::plan_row_scatter(type_ids),
                                    ops::plan_row_scatter(positions)};
  const View targets_g[3] = {g(G.word), g(G.token_type), g(G.position)};
  std::vector<Buffer> plan_buffers;
  for (int i = 0; i < 3; ++i) {
    plan_buffers.push_back(
        upload_ints(s, reinterpret_cast<const int32_t*>(plans[i].index.data()), int64_t(plans[i].index.size())));
    ops::scatter_add_rows(s, view_of(dy), view_of(plan_buffers.back()), plans[i], targets_g[i], uH);
  }
  s.flush();
  for (const auto& [name, t] : s.kernel_times()) prof::add(("vulkan " + name).c_str(), t.seconds);
  return res;
}

// The QA head of heads_train.cpp (HF BigBirdForQuestionAnsweringHead) on the device:
//   x = LN(dropout(W_o·act(W_i·dropout(h) + b_i) + b_o) + h); [start, end] = W_qa·x + b_qa, question
//   tokens except [CLS] - 1e6; loss = (CE(start) + CE(end)) / 2, positions clamped to [0, len], ignore = len.
train::HeadResult VulkanTrainer::qa_head(Stream& s, const train::TrainableBigBird& m, const train::PaddedBatch& batch,
                                         const train::TrainBatch& in, const train::DropoutSettings& drop,
                                         float grad_scale, bool backward, const Buffer& hidden, const Buffer& dhidden,
                                         View ones) {
  const ModelConfig& c = config_;
  const train::HeadWeights& HW = m.head_weights();
  Device& dev = *device_;
  const int64_t B = batch.batch, L = batch.len, P = batch.padded, H = c.hidden_size, I = c.intermediate_size;
  const uint32_t n = uint32_t(B * L), uH = uint32_t(H), uI = uint32_t(I), uL = uint32_t(L);
  const float eps = float(c.layer_norm_eps);
  std::vector<int64_t> rows, start_ids, end_ids;  // head rows; their places in the [n, 2] logits
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < L; ++i) {
      rows.push_back(b * P + i);
      start_ids.push_back(2 * (b * L + i));
      end_ids.push_back(2 * (b * L + i) + 1);
    }
  std::vector<int32_t> rows32(rows.begin(), rows.end()), start32(start_ids.begin(), start_ids.end()),
      end32(end_ids.begin(), end_ids.end());
  std::vector<float> penalty(n, 0.0f);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 1; i < std::min(L, batch.question_lengths[size_t(b)]); ++i) penalty[size_t(b * L + i)] = -1e6f;
  const uint64_t key_in = train::dropout_key(drop.stream, train::kHeadDropoutLayer, 0),
                 key_out = train::dropout_key(drop.stream, train::kHeadDropoutLayer, 1);

  Buffer d_rows = upload_ints(s, rows32.data(), n), d_start = upload_ints(s, start32.data(), n),
         d_end = upload_ints(s, end32.data(), n), d_penalty = upload_floats(s, penalty.data(), n);
  Buffer h = make_buffer(dev, int64_t(n) * H), hd = make_buffer(dev, int64_t(n) * H);
  Buffer pre = make_buffer(dev, int64_t(n) * I), act = make_buffer(dev, int64_t(n) * I);
  Buffer u = make_buffer(dev, int64_t(n) * H), x = make_buffer(dev, int64_t(n) * H);
  Buffer lg = make_buffer(dev, int64_t(n) * 2), start = make_buffer(dev, n), end = make_buffer(dev, n);
  ops::embedding(s, view_of(d_rows), 0, view_of(hidden), 0, int32_t(B * P), view_of(h), n, uH, false);
  copy(s, h, hd, n * uH);
  Buffer m_in = dropout_mask(s, int64_t(n) * H, drop.head, key_in);
  apply_mask(s, m_in, hd, n * uH);
  ops::linear(s, view_of(hd), n, uH, w(HW.qa_inter_w), uI, w(HW.qa_inter_b), view_of(pre));
  copy(s, pre, act, n * uI);
  ops::activation(s, c.hidden_act, view_of(act), n * uI);
  ops::linear(s, view_of(act), n, uI, w(HW.qa_out_w), uH, w(HW.qa_out_b), view_of(u));
  Buffer m_out = dropout_mask(s, int64_t(n) * H, drop.head, key_out);
  apply_mask(s, m_out, u, n * uH);
  ops::bias_residual(s, view_of(u), View{}, view_of(h), view_of(u), n, uH);
  ops::layer_norm(s, view_of(u), w(HW.qa_ln_g), w(HW.qa_ln_b), view_of(x), n, uH, eps);
  ops::linear(s, view_of(x), n, uH, w(HW.qa_outputs_w), 2, w(HW.qa_outputs_b), view_of(lg));
  // De-interleave [n, 2] into start / end [B, L] (a one-column gather), then the question penalty.
  ops::embedding(s, view_of(d_start), 0, view_of(lg), 0, int32_t(2 * n), view_of(start), n, 1, false);
  ops::embedding(s, view_of(d_end), 0, view_of(lg), 0, int32_t(2 * n), view_of(end), n, 1, false);
  ops::bias_residual(s, view_of(start), View{}, view_of(d_penalty), view_of(start), 1, n);
  ops::bias_residual(s, view_of(end), View{}, view_of(d_penalty), view_of(end), 1, n);

  train::HeadResult res;
  res.start_logits = Tensor::uninitialized({B, L});
  res.end_logits = Tensor::uninitialized({B, L});
  s.download(start, res.start_logits.data(), uint64_t(n) * 4);
  s.download(end, res.end_logits.data(), uint64_t(n) * 4);
  if (in.start_positions.empty() || in.end_positions.empty()) return res;

  std::vector<int32_t> start_t(static_cast<size_t>(B)), end_t(static_cast<size_t>(B));
  int64_t count = 0;
  for (int64_t b = 0; b < B; ++b) {
    start_t[size_t(b)] = int32_t(std::clamp<int64_t>(in.start_positions[b], 0, L));
    end_t[size_t(b)] = int32_t(std::clamp<int64_t>(in.end_positions[b], 0, L));
    count += start_t[size_t(b)] != int32_t(L);
  }
  int64_t end_count = 0;
  for (int32_t t : end_t) end_count += t != int32_t(L);
  const float gs = count > 0 ? float(double(0.5f * grad_scale) / double(count)) : 0.0f,
              ge = end_count > 0 ? float(double(0.5f * grad_scale) / double(end_count)) : 0.0f;
  Buffer d_st = upload_ints(s, start_t.data(), B), d_et = upload_ints(s, end_t.data(), B);
  Buffer lc_s = make_buffer(dev, B * 2), lc_e = make_buffer(dev, B * 2);
  Buffer ds = make_buffer(dev, n), de = make_buffer(dev, n);
  ops::cross_entropy(s, view_of(start), view_of(d_st), view_of(lc_s), backward ? view_of(ds) : View{}, uint32_t(B), uL,
                     uL, int32_t(L), gs);
  ops::cross_entropy(s, view_of(end), view_of(d_et), view_of(lc_e), backward ? view_of(de) : View{}, uint32_t(B), uL,
                     uL, int32_t(L), ge);
  const std::vector<float> ls = download_floats(s, lc_s, B * 2), le = download_floats(s, lc_e, B * 2);
  double total_s = 0, total_e = 0;
  for (int64_t b = 0; b < B; ++b) {
    total_s += ls[size_t(2 * b)];
    total_e += le[size_t(2 * b)];
    res.correct += ls[size_t(2 * b + 1)] != 0.0f && le[size_t(2 * b + 1)] != 0.0f;
  }
  const double loss_s = count > 0 ? total_s / double(count) : 0.0,
               loss_e = end_count > 0 ? total_e / double(end_count) : 0.0;
  res.loss = (loss_s + loss_e) / 2.0;
  res.count = count;
  if (!backward) {
    s.flush();
    return res;
  }

  // Backward: re-interleave the logit gradients (the penalty is a constant), then the block in reverse.
  Buffer dlg = make_buffer(dev, int64_t(n) * 2), dx = make_buffer(dev, int64_t(n) * H),
         dh = make_buffer(dev, int64_t(n) * H);
  Buffer dact = make_buffer(dev, int64_t(n) * I), dhd = make_buffer(dev, int64_t(n) * H);
  ops::fill(s, view_of(dlg), 2 * n, 0.0f);
  const ops::RowScatter to_start = ops::plan_row_scatter(start_ids), to_end = ops::plan_row_scatter(end_ids),
                        to_hidden = ops::plan_row_scatter(rows);
  Buffer p_start = upload_plan(s, to_start), p_end = upload_plan(s, to_end), p_hidden = upload_plan(s, to_hidden);
  ops::scatter_add_rows(s, view_of(ds), view_of(p_start), to_start, view_of(dlg), 1);
  ops::scatter_add_rows(s, view_of(de), view_of(p_end), to_end, view_of(dlg), 1);
  ops::linear_backward(s, view_of(dlg), view_of(x), w(HW.qa_outputs_w), n, uH, 2, view_of(dx), g(HW.qa_outputs_w),
                       g(HW.qa_outputs_b), ones);
  ops::layer_norm_backward(s, view_of(dx), view_of(u), w(HW.qa_ln_g), view_of(dx), g(HW.qa_ln_g), g(HW.qa_ln_b), n, uH,
                           eps);
  copy(s, dx, dh, n * uH);  // the residual uses the un-dropped h
  apply_mask(s, m_out, dx, n * uH);
  ops::linear_backward(s, view_of(dx), view_of(act), w(HW.qa_out_w), n, uI, uH, view_of(dact), g(HW.qa_out_w),
                       g(HW.qa_out_b), ones);
  ops::activation_backward(s, c.hidden_act, view_of(pre), view_of(dact), view_of(dact), n * uI);
  ops::linear_backward(s, view_of(dact), view_of(hd), w(HW.qa_inter_w), n, uH, uI, view_of(dhd), g(HW.qa_inter_w),
                       g(HW.qa_inter_b), ones);
  apply_mask(s, m_in, dhd, n * uH);
  ops::bias_residual(s, view_of(dh), View{}, view_of(dhd), view_of(dh), n, uH);
  ops::scatter_add_rows(s, view_of(dh), view_of(p_hidden), to_hidden, view_of(dhidden), uH);
  s.flush();  // the scratch buffers above are released on return
  return res;
}

void VulkanTrainer::zero_grads() {
  Stream s(*device_);
  for (Param& p : params_) ops::fill(s, view_of(p.g), uint32_t(p.n), 0.0f);
  s.flush();
}

void VulkanTrainer::download_grads(ParameterStore& grads) {
  Stream s(*device_);
  for (Param& p : params_) {
    Tensor& t = grads.mutable_get(p.name);
    if (t.shape() != p.shape) throw Error("vulkan trainer: gradient store has the wrong shape for " + p.name);
    s.download(p.g, t.data(), uint64_t(p.n) * 4);
  }
}

void VulkanTrainer::download_params(ParameterStore& params) {
  Stream s(*device_);
  for (Param& p : params_) {
    Tensor& t = params.mutable_get(p.name);
    if (t.shape() != p.shape) throw Error("vulkan trainer: parameter store has the wrong shape for " + p.name);
    s.download(p.w, t.data(), uint64_t(p.n) * 4);
    for (int64_t i = 0; i < p.n; ++i)
      if (!std::isfinite(t[i])) throw VulkanError("the Vulkan parameters hold non-finite values", VK_ERROR_UNKNOWN);
  }
}

double VulkanTrainer::grad_norm(const std::set<std::string>& skip) {
  Stream s(*device_);
  std::vector<uint32_t> offsets;
  uint32_t total = 0;
  for (const Param& p : params_) {
    offsets.push_back(total);
    if (!skip.count(p.name)) total += ops::sum_squares_groups(uint32_t(p.n));
  }
  Buffer partial = make_buffer(*device_, std::max<uint32_t>(total, 1));
  for (size_t i = 0; i < params_.size(); ++i)
    if (!skip.count(params_[i].name))
      ops::sum_squares(s, view_of(params_[i].g), uint32_t(params_[i].n), view_of(partial), offsets[i]);
  const std::vector<float> parts = download_floats(s, partial, total);
  double sum = 0;
  for (float v : parts) sum += double(v);
  if (!std::isfinite(sum)) throw VulkanError("the Vulkan gradient norm is not finite", VK_ERROR_UNKNOWN);
  return std::sqrt(sum);
}

double VulkanTrainer::clip_and_step(const train::OptimizerConfig& config, double lr, double max_norm,
                                    const std::set<std::string>& skip) {
  const double norm = grad_norm(skip);
  double clip = 1.0;
  if (max_norm > 0.0) {
    const double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0) clip = coef;
  }
  train::Optimizer decide(config);  // the weight-decay exclusions, by name
  ++steps_;
  Stream s(*device_);
  const bool tf = config.kind == train::OptimizerKind::AdamWeightDecay;
  for (Param& p : params_) {
    if (skip.count(p.name)) continue;
    if (p.m.empty()) {
      p.m = make_buffer(*device_, p.n);
      p.v = make_buffer(*device_, p.n);
      ops::fill(s, view_of(p.m), uint32_t(p.n), 0.0f);
      ops::fill(s, view_of(p.v), uint32_t(p.n), 0.0f);
    }
    const ops::AdamStep a = ops::adam_step(tf, config.beta1, config.beta2, config.effective_eps(), lr,
                                           config.weight_decay, decide.decays(p.name), steps_, clip);
    ops::adamw(s, view_of(p.w), view_of(p.g), view_of(p.m), view_of(p.v), uint32_t(p.n), a);
  }
  s.flush();
  return norm;
}

void VulkanTrainer::download_optimizer_state(std::map<std::string, Tensor>& m, std::map<std::string, Tensor>& v) {
  Stream s(*device_);
  for (Param& p : params_) {
    if (p.m.empty()) continue;
    Tensor tm = Tensor::uninitialized(p.shape), tv = Tensor::uninitialized(p.shape);
    s.download(p.m, tm.data(), uint64_t(p.n) * 4);
    s.download(p.v, tv.data(), uint64_t(p.n) * 4);
    m[p.name] = std::move(tm);
    v[p.name] = std::move(tv);
  }
}

void VulkanTrainer::restore_optimizer_state(int64_t steps, const std::map<std::string, Tensor>& m,
                                            const std::map<std::string, Tensor>& v) {
  Stream s(*device_);
  steps_ = steps;
  for (Param& p : params_) {
    const auto im = m.find(p.name), iv = v.find(p.name);
    if (im == m.end() || iv == v.end()) continue;
    if (im->second.shape() != p.shape || iv->second.shape() != p.shape)
      throw Error("optimizer state for " + p.name + " has the wrong shape");
    p.m = upload_floats(s, im->second.data(), p.n);
    p.v = upload_floats(s, iv->second.data(), p.n);
  }
  s.flush();
}

}  // namespace bb::vk
