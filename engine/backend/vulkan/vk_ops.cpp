#include "engine/backend/vulkan/vk_ops.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "engine/backend/vulkan/vk_device.h"
#include "engine/backend/vulkan/vk_error.h"
#include "engine/io/half_float.h"

namespace bb::vk {

namespace {

// Push-constant blocks, member for member as in the shaders (all 4-byte scalars).
struct GemmPush {
  uint32_t M, N, K, lda, ldb, ldc, a_off, b_off, c_off, a_batch, b_batch, c_batch;
  float alpha, beta;
  uint32_t flags;
};
struct SmallGemmPush {  // GemmPush + this dispatch's column range
  uint32_t M, N, K, lda, ldb, ldc, a_off, b_off, c_off, a_batch, b_batch, c_batch;
  float alpha, beta;
  uint32_t flags, col_begin, col_end;
};
struct LayerNormPush {
  uint32_t rows, cols, x_off, y_off;
  float eps;
};
struct SoftmaxPush {
  uint32_t rows, n, ld, off;
};
struct ActivationPush {
  uint32_t n, off, kind;
};
struct EmbeddingPush {
  uint32_t rows, cols, ids_off;
  int32_t row_begin, row_end;
  uint32_t accumulate;
};
struct BiasResidualPush {
  uint32_t rows, cols, flags;
};
struct SparsePush {
  uint32_t L, heads, block, nb, ldq, ldkv, ldc, q_off, k_off, v_off, c_off, q_batch, kv_batch, c_batch, subs, b_begin,
      h_begin;
  float scale, penalty;
  uint32_t flags, slots;
};
struct DensePush {
  uint32_t Lq, Lk, heads, ldq, ldkv, ldc, q_off, k_off, v_off, c_off, q_batch, kv_batch, c_batch, q_begin, h_begin;
  int32_t causal_offset;
  uint32_t block, nbq, nbk;
  float scale, penalty;
  uint32_t flags;
};
struct BackwardPush {
  uint32_t L, heads, block, nb, ldq, ldkv, ldo, q_off, k_off, v_off, o_off, do_off, dq_off, dk_off, dv_off, q_batch,
      kv_batch, o_batch, subs, b_begin;
  float scale, penalty;
  uint32_t flags;
};
static_assert(sizeof(GemmPush) == 60 && sizeof(SmallGemmPush) == 68 && sizeof(SparsePush) == 84 &&
              sizeof(DensePush) == 88 && sizeof(BackwardPush) == 92);

constexpr KernelLayout kGemm{"gemm", 4, sizeof(GemmPush)};
constexpr KernelLayout kGemmF16{"gemm_f16", 4, sizeof(GemmPush)};
constexpr KernelLayout kGemmSmall{"gemm_small_m", 4, sizeof(SmallGemmPush)};
constexpr KernelLayout kGemmSmallF16{"gemm_small_m_f16", 4, sizeof(SmallGemmPush)};
constexpr KernelLayout kGemmSmallVec4{"gemm_small_m_vec4", 4, sizeof(SmallGemmPush)};
constexpr KernelLayout kGemmSmallF16Vec4{"gemm_small_m_f16_vec4", 4, sizeof(SmallGemmPush)};
constexpr KernelLayout kLayerNorm{"layer_norm", 4, sizeof(LayerNormPush)};
constexpr KernelLayout kSoftmax{"softmax", 1, sizeof(SoftmaxPush)};
constexpr KernelLayout kActivation{"activation", 1, sizeof(ActivationPush)};
constexpr KernelLayout kEmbedding{"embedding", 3, sizeof(EmbeddingPush)};
constexpr KernelLayout kBiasResidual{"bias_residual", 4, sizeof(BiasResidualPush)};
constexpr KernelLayout kSparse{"attention_block_sparse", 11, sizeof(SparsePush)};
constexpr KernelLayout kSparseMerge{"attention_block_sparse_merge", 6, sizeof(SparsePush)};
constexpr KernelLayout kSparseProbs{"attention_probs_block_sparse", 8, sizeof(SparsePush)};
constexpr KernelLayout kDense{"attention_dense", 8, sizeof(DensePush)};
constexpr KernelLayout kDenseProbs{"attention_probs_dense", 6, sizeof(DensePush)};
constexpr KernelLayout kBackwardPrep{"attention_backward_prep", 4, sizeof(BackwardPush)};
constexpr KernelLayout kBackwardDq{"attention_block_sparse_backward_dq", 10, sizeof(BackwardPush)};
constexpr KernelLayout kBackwardDkDv{"attention_block_sparse_backward_dkdv", 11, sizeof(BackwardPush)};

// GEMM tile: 16x16 threads, 4x4 outputs each -> 64x64 per workgroup, K staged 16 at a time.
constexpr uint32_t kTX = 16, kTY = 16, kTM = 4, kTN = 4, kBK = 16, kBM = kTY * kTM, kBN = kTX * kTN;
// Small-M GEMM: 128 threads; a column's K range is shared by up to 32 threads when B is transposed
// (contiguous along K), up to 4 otherwise (neighbouring threads read neighbouring columns).
constexpr uint32_t kSmallWG = 128, kSmallKC = 256;
constexpr uint32_t kRowWG = 128;     // layer_norm / softmax (power of two)
constexpr uint32_t kStreamWG = 256;  // grid-stride element-wise kernels
constexpr uint32_t kMaxGridGroups = 4096;

uint32_t ceil_div(uint64_t a, uint64_t b) { return uint32_t((a + b - 1) / b); }

void require(bool ok, const char* op, const char* what) {
  if (!ok) throw VulkanError(std::string(op) + ": " + what, VK_ERROR_UNKNOWN);
}

// Row-parallel kernels index rows as y * gridX + x so any row count fits the 65535 limit.
void row_grid(const Device& d, uint32_t rows, uint32_t& gx, uint32_t& gy) {
  gx = std::min<uint32_t>(rows, d.info().max_workgroup_count[0]);
  gy = ceil_div(rows, gx);
}

uint32_t stream_groups(uint64_t n) {
  return std::max<uint32_t>(1, std::min<uint32_t>(ceil_div(n, kStreamWG), kMaxGridGroups));
}

float attention_scale(float scale, uint32_t d) { return scale != 0.0f ? scale : 1.0f / std::sqrt(float(d)); }

// Attention workgroup: one thread per query (or key) row, at most 64 rows; KT keys per shared tile.
struct AttentionShape {
  uint32_t wg, kt, subs;
};
AttentionShape attention_shape(const Device& d, uint32_t block, uint32_t head_dim, uint32_t shared_rows) {
  AttentionShape s;
  s.wg = std::min<uint32_t>(std::max<uint32_t>(block, 1), 64);
  s.subs = ceil_div(block, s.wg);
  s.kt = 32;
  while (s.kt > 4 && (uint64_t(shared_rows) * s.kt * head_dim + 3 * s.kt) * 4 > d.info().max_shared_memory) s.kt /= 2;
  return s;
}

void check_head_dim(const Device& d, uint32_t head_dim, const char* op) {
  if (head_dim == 0 || head_dim > ops::max_head_dim(d))
    throw VulkanError(std::string(op) + ": head_dim " + std::to_string(head_dim) +
                          " is not supported on this device (max " + std::to_string(ops::max_head_dim(d)) + ")",
                      VK_ERROR_FEATURE_NOT_PRESENT);
}

}  // namespace

Buffer make_buffer(Device& device, int64_t elements, size_t element_bytes) {
  return Buffer(device.allocator(), uint64_t(std::max<int64_t>(elements, 1)) * element_bytes);
}

Buffer upload_floats(Stream& s, const float* data, int64_t n) {
  Buffer b = make_buffer(s.device(), n);
  s.upload(b, data, uint64_t(n) * 4);
  return b;
}

Buffer upload_halves(Stream& s, const float* data, int64_t n) {
  std::vector<uint16_t> h(size_t(std::max<int64_t>(n, 0)));
  for (int64_t i = 0; i < n; ++i) h[size_t(i)] = io::f32_to_f16(data[i]);
  Buffer b = make_buffer(s.device(), (n + 1) / 2);
  s.upload(b, h.data(), uint64_t(n) * 2);
  return b;
}

Buffer upload_ints(Stream& s, const int32_t* data, int64_t n) {
  Buffer b = make_buffer(s.device(), n);
  s.upload(b, data, uint64_t(n) * 4);
  return b;
}

std::vector<float> download_floats(Stream& s, const Buffer& b, int64_t n) {
  std::vector<float> out(size_t(std::max<int64_t>(n, 0)));
  s.download(b, out.data(), uint64_t(n) * 4);
  return out;
}

namespace ops {

uint32_t max_head_dim(const Device& d) {
  // The smallest tile (KT = 4 rows of two [KT, D] arrays) must fit in shared memory; register
  // arrays beyond 256 floats per thread would spill on every GPU.
  return std::min<uint32_t>(256, d.info().max_shared_memory / (2 * 4 * 4));
}

namespace {

// Shape of a small-M dispatch for g on d, or ok = false when the tiled kernel must run.
struct SmallGemmShape {
  bool ok = false, vec4 = false;
  uint32_t kt = 0, mr = 0, kc = 0;
};

SmallGemmShape small_gemm_shape(const Device& d, const Gemm& g) {
  SmallGemmShape sh;
  if (g.path == GemmPath::tiled || g.M > kSmallMRows) return sh;
  sh.mr = 1;
  while (sh.mr < g.M) sh.mr *= 2;
  sh.kc = kSmallKC;
  while (uint64_t(sh.mr) * sh.kc * 4 > d.info().max_shared_memory && sh.kc > kSmallWG) sh.kc /= 2;
  if (uint64_t(sh.mr) * sh.kc * 4 > d.info().max_shared_memory || kSmallWG > d.info().max_workgroup_invocations)
    return sh;
  // vec4 weights: every row of B starts on a 16-byte (fp16: 8-byte) boundary of the binding.
  const uint64_t align = g.b_fp16 ? 8 : 16;
  sh.vec4 = g.trans_b && g.K % 4 == 0 && g.ldb % 4 == 0 && g.b_off % 4 == 0 && (g.batch == 1 || g.b_batch % 4 == 0) &&
            g.b.offset % align == 0;
  // Threads per column: each keeps at least `loads` loads of B (vec4 or scalar) along K, so small K
  // (pegasus-tiny's LM head: K = 32) gets one thread per column and no partial sums. CPU
  // implementations (lavapipe) run a workgroup's threads as SIMD lanes of one core, where sharing a
  // column only adds workgroups and partial sums: there each thread takes 8x more of K.
  const uint32_t units = sh.vec4 ? g.K / 4 : g.K;
  const uint32_t loads = d.info().vk_type == VK_PHYSICAL_DEVICE_TYPE_CPU ? 64 : 8;
  sh.kt = 1;
  while (sh.kt < (g.trans_b ? 32u : 4u) && sh.kt * 2 * loads <= units) sh.kt *= 2;
  sh.ok = true;
  return sh;
}

const KernelLayout& small_gemm_kernel(const Gemm& g, const SmallGemmShape& sh) {
  if (sh.vec4) return g.b_fp16 ? kGemmSmallF16Vec4 : kGemmSmallVec4;
  return g.b_fp16 ? kGemmSmallF16 : kGemmSmall;
}

// Each workgroup: kSmallWG / kt columns for all M rows; the columns are split into dispatches that
// stay inside the submission budget, and the workgroups of one dispatch over x and y (65535 limit).
void gemm_small_m(Stream& s, const Gemm& g, const SmallGemmShape& sh) {
  const std::vector<uint32_t> spec = {kSmallWG, sh.kt, sh.mr, sh.kc, g.trans_a ? 1u : 0u, g.trans_b ? 1u : 0u};
  const uint32_t nc = kSmallWG / sh.kt;
  const double per_col = 2.0 * g.M * double(g.K) * g.batch;
  const double budget = s.dispatch_budget_flops();
  uint32_t cols = g.N;
  if (per_col * cols > budget) cols = std::max<uint32_t>(nc, uint32_t(budget / per_col) / nc * nc);
  const uint32_t max_x = s.device().info().max_workgroup_count[0];
  for (uint32_t j0 = 0; j0 < g.N; j0 += cols) {
    const uint32_t n = std::min(cols, g.N - j0);
    const SmallGemmPush p{g.M,     g.N,     g.K,       g.lda,     g.ldb,     g.ldc,
                          g.a_off, g.b_off, g.c_off,   g.a_batch, g.b_batch, g.c_batch,
                          g.alpha, g.beta,  g.bias.empty() ? 0u : 1u,         j0,        j0 + n};
    const uint32_t groups = ceil_div(n, nc), gx = std::min(groups, max_x), gy = ceil_div(groups, gx);
    require(gy <= s.device().info().max_workgroup_count[1], "gemm", "too many columns for one dispatch grid");
    s.dispatch(small_gemm_kernel(g, sh), spec, {g.a, g.b, g.c, g.bias}, &p, gx, gy, g.batch, per_col * n);
  }
}

}  // namespace

std::string gemm_kernel(const Device& d, const Gemm& g) {
  const SmallGemmShape sh = small_gemm_shape(d, g);
  if (sh.ok) return small_gemm_kernel(g, sh).name;
  return g.b_fp16 ? kGemmF16.name : kGemm.name;
}

void gemm(Stream& s, const Gemm& g) {
  if (g.M == 0 || g.N == 0) return;
  require(!g.a.empty() && !g.b.empty() && !g.c.empty(), "gemm", "A, B and C must be bound");
  require(!g.b_fp16 || s.device().fp16_storage_enabled(), "gemm", "fp16 weights need storageBuffer16BitAccess");
  const SmallGemmShape small = small_gemm_shape(s.device(), g);
  require(small.ok || g.path != GemmPath::small_m, "gemm", "the small-M kernel does not take this shape");
  if (small.ok) return gemm_small_m(s, g, small);
  const std::vector<uint32_t> spec = {kTX, kTY, kTM, kTN, kBK, g.trans_a ? 1u : 0u, g.trans_b ? 1u : 0u};
  // Split M so each dispatch stays inside the submission budget.
  const double per_row = 2.0 * g.N * double(g.K) * g.batch;
  const double budget = s.dispatch_budget_flops();
  uint32_t rows = g.M;
  if (per_row * rows > budget) rows = std::max<uint32_t>(kBM, uint32_t(budget / per_row) / kBM * kBM);
  for (uint32_t i0 = 0; i0 < g.M; i0 += rows) {
    const uint32_t m = std::min(rows, g.M - i0);
    GemmPush p{m,
               g.N,
               g.K,
               g.lda,
               g.ldb,
               g.ldc,
               g.a_off + (g.trans_a ? i0 : i0 * g.lda),
               g.b_off,
               g.c_off + i0 * g.ldc,
               g.a_batch,
               g.b_batch,
               g.c_batch,
               g.alpha,
               g.beta,
               g.bias.empty() ? 0u : 1u};
    s.dispatch(g.b_fp16 ? kGemmF16 : kGemm, spec, {g.a, g.b, g.c, g.bias}, &p, ceil_div(g.N, kBN), ceil_div(m, kBM),
               g.batch, per_row * m);
  }
}

void linear(Stream& s, View x, uint32_t M, uint32_t K, View w, uint32_t N, View bias, View y, bool w_fp16) {
  Gemm g;
  g.a = x;
  g.b = w;
  g.c = y;
  g.bias = bias;
  g.trans_b = true;
  g.b_fp16 = w_fp16;
  g.M = M;
  g.N = N;
  g.K = K;
  g.lda = K;
  g.ldb = K;
  g.ldc = N;
  gemm(s, g);
}

void layer_norm(Stream& s, View x, View gamma, View beta, View y, uint32_t rows, uint32_t cols, float eps,
                uint32_t x_off, uint32_t y_off) {
  if (rows == 0 || cols == 0) return;
  LayerNormPush p{rows, cols, x_off, y_off, eps};
  uint32_t gx, gy;
  row_grid(s.device(), rows, gx, gy);
  s.dispatch(kLayerNorm, {kRowWG}, {x, gamma, beta, y}, &p, gx, gy, 1, 8.0 * rows * cols);
}

void activation(Stream& s, Activation act, View x, uint32_t n, uint32_t off) {
  if (n == 0) return;
  uint32_t kind = 0;
  switch (act) {
    case Activation::GeluNew:
      kind = 0;
      break;
    case Activation::GeluFast:
      kind = 1;
      break;
    case Activation::Gelu:
      kind = 2;
      break;
    case Activation::Relu:
      kind = 3;
      break;
    case Activation::Tanh:
      kind = 4;
      break;
  }
  ActivationPush p{n, off, kind};
  s.dispatch(kActivation, {kStreamWG}, {x}, &p, stream_groups(n), 1, 1, 20.0 * n);
}

void softmax_rows(Stream& s, View x, uint32_t rows, uint32_t n, uint32_t ld, uint32_t off) {
  if (rows == 0 || n == 0) return;
  SoftmaxPush p{rows, n, ld, off};
  uint32_t gx, gy;
  row_grid(s.device(), rows, gx, gy);
  s.dispatch(kSoftmax, {kRowWG}, {x}, &p, gx, gy, 1, 10.0 * rows * n);
}

void embedding(Stream& s, View ids, uint32_t ids_off, View table, int32_t row_begin, int32_t row_end, View out,
               uint32_t rows, uint32_t cols, bool accumulate) {
  if (rows == 0 || cols == 0) return;
  EmbeddingPush p{rows, cols, ids_off, row_begin, row_end, accumulate ? 1u : 0u};
  s.dispatch(kEmbedding, {kStreamWG}, {ids, table, out}, &p, stream_groups(uint64_t(rows) * cols), 1, 1,
             2.0 * rows * cols);
}

void bias_residual(Stream& s, View a, View bias, View res, View y, uint32_t rows, uint32_t cols) {
  if (rows == 0 || cols == 0) return;
  BiasResidualPush p{rows, cols, (bias.empty() ? 0u : 1u) | (res.empty() ? 0u : 2u)};
  s.dispatch(kBiasResidual, {kStreamWG}, {a, bias, res, y}, &p, stream_groups(uint64_t(rows) * cols), 1, 1,
             2.0 * rows * cols);
}

namespace {

constexpr uint32_t kNoSlot = 0xffffffffu;

// Fills l.host_items (and the counts) from l.host_offsets; returns the merge records. A list of
// n > 2 * split entries becomes ceil(n / split) contiguous parts of near-equal length, so the
// plan's order and duplicates are kept inside each part and the merge restores the whole sum.
std::vector<uint32_t> plan_work_items(SparseLists& l, uint32_t split_blocks) {
  const size_t lists = size_t(l.heads) * l.nb;
  uint32_t split = split_blocks;
  if (split == 0 && lists > 0) {
    std::vector<uint32_t> lengths(lists);
    for (size_t i = 0; i < lists; ++i) lengths[i] = l.host_offsets[i + 1] - l.host_offsets[i];
    std::nth_element(lengths.begin(), lengths.begin() + lists / 2, lengths.end());
    split = lengths[lists / 2];
  }
  split = std::max<uint32_t>(1, split);
  l.split_blocks = split;
  std::vector<uint32_t> merges;
  l.host_items.clear();
  l.slots = 0;
  for (size_t i = 0; i < lists; ++i) {
    const uint32_t e0 = l.host_offsets[i], e1 = l.host_offsets[i + 1], n = e1 - e0;
    if (uint64_t(n) <= 2 * uint64_t(split)) {
      l.host_items.insert(l.host_items.end(), {uint32_t(i), e0, e1, kNoSlot});
      continue;
    }
    const uint32_t parts = ceil_div(n, split);
    merges.insert(merges.end(), {uint32_t(i), l.slots, parts, 0u});
    for (uint32_t j = 0; j < parts; ++j)
      l.host_items.insert(l.host_items.end(), {uint32_t(i), e0 + uint32_t(uint64_t(n) * j / parts),
                                               e0 + uint32_t(uint64_t(n) * (j + 1) / parts), l.slots + j});
    l.slots += parts;
  }
  l.item_count = uint32_t(l.host_items.size() / 4);
  l.merge_count = uint32_t(merges.size() / 4);
  return merges;
}

}  // namespace

SparseLists upload_pattern(Stream& s, const attn::BlockPattern& pat, bool with_transpose, uint32_t split_blocks) {
  SparseLists l;
  l.heads = uint32_t(pat.heads());
  l.nb = uint32_t(pat.num_blocks());
  l.block = uint32_t(pat.block());
  const uint64_t b2 = uint64_t(l.block) * l.block;
  std::vector<std::vector<std::vector<uint32_t>>> transposed;
  if (with_transpose) transposed.assign(l.heads, std::vector<std::vector<uint32_t>>(l.nb));
  l.host_offsets.push_back(0);
  l.host_tile_offsets.push_back(0);
  for (uint32_t h = 0; h < l.heads; ++h)
    for (uint32_t qb = 0; qb < l.nb; ++qb) {
      const std::vector<attn::KeyBlock> keys = pat.key_blocks(int(h), int(qb));
      for (const attn::KeyBlock& kb : keys) {
        l.host_blocks.push_back(uint32_t(kb.block));
        if (with_transpose) transposed[h][size_t(kb.block)].push_back(qb);
      }
      l.host_offsets.push_back(uint32_t(l.host_blocks.size()));
      l.host_tile_offsets.push_back(l.host_tile_offsets.back() + b2 * keys.size());
    }
  // Tile offsets are relative to their head's first tile, so 32 bits suffice per head.
  std::vector<uint32_t> tiles(l.host_tile_offsets.size());
  for (size_t i = 0; i < tiles.size(); ++i) {
    const size_t head_first = std::min<size_t>(i / l.nb, l.heads - 1) * l.nb;
    const uint64_t rel = l.host_tile_offsets[i] - l.host_tile_offsets[head_first];
    require(rel <= std::numeric_limits<uint32_t>::max(), "attention capture", "one head's tiles exceed 2^32 floats");
    tiles[i] = uint32_t(rel);
  }
  const std::vector<uint32_t> merges =
      plan_work_items(l, split_blocks != 0 ? split_blocks : s.device().options().split_blocks);
  std::vector<uint32_t> t_off, t_blocks;
  if (with_transpose) {
    t_off.push_back(0);
    for (uint32_t h = 0; h < l.heads; ++h)
      for (uint32_t kb = 0; kb < l.nb; ++kb) {
        t_blocks.insert(t_blocks.end(), transposed[h][kb].begin(), transposed[h][kb].end());
        t_off.push_back(uint32_t(t_blocks.size()));
      }
  }

  // Every array in one buffer and one upload: each upload is a submission (and on a discrete GPU
  // a staging copy), and a layer's pattern is uploaded in the middle of the forward pass.
  const uint64_t align = std::max<uint64_t>(4, s.device().info().min_storage_buffer_offset_alignment) / 4;
  std::vector<uint32_t> packed;
  std::vector<std::pair<uint64_t, uint64_t>> sections;  // (first word, words)
  const std::vector<uint32_t>* arrays[] = {&l.host_offsets, &l.host_blocks, &tiles, &l.host_items,
                                           &merges,         &t_off,         &t_blocks};
  for (const std::vector<uint32_t>* a : arrays) {
    packed.resize((packed.size() + align - 1) / align * align);
    sections.emplace_back(packed.size(), a->size());
    packed.insert(packed.end(), a->begin(), a->end());
  }
  l.storage = upload_ints(s, reinterpret_cast<const int32_t*>(packed.data()), int64_t(packed.size()));
  const View all = view_of(l.storage);
  auto section = [&](size_t i) {
    if (sections[i].second == 0) return View{};
    return View{all.buffer, all.offset + sections[i].first * 4, sections[i].second * 4};
  };
  l.offsets = section(0);
  l.blocks = section(1);
  l.tile_offsets = section(2);
  l.items = section(3);
  l.merges = section(4);
  l.t_offsets = section(5);
  l.t_blocks = section(6);
  return l;
}

namespace {

SparsePush sparse_push(const SparseAttention& a) {
  const SparseLists& l = *a.lists;
  SparsePush p{};
  p.L = a.L;
  p.heads = a.heads;
  p.block = l.block;
  p.nb = l.nb;
  p.ldq = a.ldq;
  p.ldkv = a.ldkv;
  p.ldc = a.ldc;
  p.q_off = a.q_off;
  p.k_off = a.k_off;
  p.v_off = a.v_off;
  p.c_off = a.c_off;
  p.q_batch = a.q_batch;
  p.kv_batch = a.kv_batch;
  p.c_batch = a.c_batch;
  p.scale = attention_scale(a.scale, a.head_dim);
  p.penalty = a.penalty;
  p.flags = (a.mask.empty() ? 0u : 1u) | (a.lse.empty() ? 0u : 2u) | (a.zero_padded_queries ? 4u : 0u);
  return p;
}

void check_sparse(const Stream& s, const SparseAttention& a, const char* op) {
  require(a.lists != nullptr, op, "no key-block lists");
  require(a.lists->heads == a.heads && uint64_t(a.lists->nb) * a.lists->block == a.L, op,
          "the pattern does not match heads / length");
  require(!a.q.empty() && !a.k.empty() && !a.v.empty(), op, "q, k and v must be bound");
  check_head_dim(s.device(), a.head_dim, op);
}

}  // namespace

void block_sparse_attention(Stream& s, const SparseAttention& a) {
  check_sparse(s, a, "block_sparse_attention");
  const SparseLists& l = *a.lists;
  require(l.item_count > 0 && !l.items.empty(), "block_sparse_attention", "the lists have no work items");
  const uint32_t padded_dim = (a.head_dim + 3) / 4 * 4;  // the kernel stages vec4s
  const AttentionShape sh = attention_shape(s.device(), l.block, padded_dim, 2);
  const std::vector<uint32_t> spec = {sh.wg, a.head_dim, sh.kt};
  SparsePush p = sparse_push(a);
  p.subs = sh.subs;
  p.slots = l.slots;
  Buffer part_o, part_ml;  // scratch of the split lists: unnormalised outputs, (m, l) per row
  if (l.slots > 0) {
    part_o = make_buffer(s.device(), int64_t(a.batch) * l.slots * l.block * a.head_dim);
    part_ml = make_buffer(s.device(), int64_t(a.batch) * l.slots * l.block * 2);
  }
  const View po = view_of_or_empty(part_o), pml = view_of_or_empty(part_ml);
  const double per_key_block = 4.0 * l.block * double(l.block) * a.head_dim * a.batch;
  const double budget = s.dispatch_budget_flops();
  const uint32_t max_items = std::max<uint32_t>(1, s.device().info().max_workgroup_count[0] / sh.subs);
  auto item_work = [&](uint32_t i) { return per_key_block * (l.host_items[4 * i + 2] - l.host_items[4 * i + 1]); };
  uint32_t first = 0;
  while (first < l.item_count) {
    uint32_t end = first;
    double work = 0;
    do {
      work += item_work(end);
      ++end;
    } while (end < l.item_count && end - first < max_items && work + item_work(end) <= budget);
    p.b_begin = first;
    s.dispatch(kSparse, spec,
               {a.q, a.k, a.v, a.mask, l.offsets, l.blocks, a.ctx, a.lse, l.items, po, pml},
               &p, (end - first) * sh.subs, 1, a.batch, work);
    first = end;
  }
  if (l.merge_count > 0) {
    const uint32_t per_dispatch = std::max<uint32_t>(1, s.device().info().max_workgroup_count[0] / l.block);
    for (uint32_t m0 = 0; m0 < l.merge_count; m0 += per_dispatch) {
      const uint32_t n = std::min(per_dispatch, l.merge_count - m0);
      p.b_begin = m0;
      s.dispatch(kSparseMerge, {64u, a.head_dim}, {a.mask, l.merges, po, pml, a.ctx, a.lse}, &p,
                 n * l.block, 1, a.batch, 4.0 * n * l.block * double(a.head_dim) * a.batch);
    }
  }
  s.release_after_flush(std::move(part_o));
  s.release_after_flush(std::move(part_ml));
}

void block_sparse_attention_probs(Stream& s, const SparseAttention& a, uint32_t head, View out) {
  check_sparse(s, a, "block_sparse_attention_probs");
  require(!a.lse.empty(), "block_sparse_attention_probs", "needs the forward pass's lse");
  require(head < a.heads, "block_sparse_attention_probs", "head out of range");
  const SparseLists& l = *a.lists;
  SparsePush p = sparse_push(a);
  p.h_begin = head;
  p.b_begin = 0;
  p.subs = 1;
  p.c_off = 0;
  p.c_batch = uint32_t(l.host_tile_offsets[size_t(head + 1) * l.nb] - l.host_tile_offsets[size_t(head) * l.nb]);
  const double work = 2.0 * a.head_dim * double(p.c_batch) * a.batch;
  s.dispatch(kSparseProbs, {64u, a.head_dim},
             {a.q, a.k, a.mask, l.offsets, l.blocks, l.tile_offsets, a.lse, out}, &p, l.nb,
             1, a.batch, work);
}

void block_sparse_attention_backward(Stream& s, const SparseAttention& a, const SparseAttentionGrad& g) {
  check_sparse(s, a, "block_sparse_attention_backward");
  const SparseLists& l = *a.lists;
  require(!a.lse.empty() && !g.delta.empty(), "block_sparse_attention_backward", "needs lse and a delta buffer");
  require(!l.t_offsets.empty(), "block_sparse_attention_backward", "lists were uploaded without the transpose");
  BackwardPush p{};
  p.L = a.L;
  p.heads = a.heads;
  p.block = l.block;
  p.nb = l.nb;
  p.ldq = a.ldq;
  p.ldkv = a.ldkv;
  p.ldo = g.ldo;
  p.q_off = a.q_off;
  p.k_off = a.k_off;
  p.v_off = a.v_off;
  p.o_off = g.o_off;
  p.do_off = g.do_off;
  p.dq_off = g.dq_off;
  p.dk_off = g.dk_off;
  p.dv_off = g.dv_off;
  p.q_batch = a.q_batch;
  p.kv_batch = a.kv_batch;
  p.o_batch = g.o_batch;
  p.scale = attention_scale(a.scale, a.head_dim);
  p.penalty = a.penalty;
  p.flags = a.mask.empty() ? 0u : 1u;

  s.dispatch(kBackwardPrep, {64u, a.head_dim}, {g.o, g.dout, a.mask, g.delta}, &p, ceil_div(a.L, 64), a.heads, a.batch,
             2.0 * a.L * a.head_dim * a.heads * a.batch);

  const AttentionShape sh = attention_shape(s.device(), l.block, a.head_dim, 2);
  const std::vector<uint32_t> spec = {sh.wg, a.head_dim, sh.kt};
  p.subs = sh.subs;
  const double per_pair = 8.0 * l.block * double(l.block) * a.head_dim * a.heads * a.batch;
  const double budget = s.dispatch_budget_flops();
  auto run = [&](const KernelLayout& k, const std::vector<uint32_t>& offsets, const std::vector<View>& binds) {
    uint32_t b = 0;
    while (b < l.nb) {
      uint32_t end = b;
      double work = 0;
      do {
        work += per_pair * (offsets[end + 1] - offsets[end]);
        ++end;
      } while (end < l.nb && work + per_pair * (offsets[end + 1] - offsets[end]) <= budget);
      p.b_begin = b;
      s.dispatch(k, spec, binds, &p, (end - b) * sh.subs, a.heads, a.batch, work);
      b = end;
    }
  };
  run(kBackwardDq, l.host_offsets,
      {a.q, a.k, a.v, a.mask, l.offsets, l.blocks, g.dout, a.lse, g.delta, g.dq});
  // The transposed lists have the same per-head totals; their per-block counts drive the split.
  std::vector<uint32_t> t_counts(size_t(l.nb) + 1, 0);
  for (uint32_t h = 0; h < 1 && h < l.heads; ++h)
    for (uint32_t e = l.host_offsets[h * l.nb]; e < l.host_offsets[(h + 1) * l.nb]; ++e)
      ++t_counts[size_t(l.host_blocks[e]) + 1];
  for (size_t i = 1; i < t_counts.size(); ++i) t_counts[i] += t_counts[i - 1];
  run(kBackwardDkDv, t_counts,
      {a.q, a.k, a.v, a.mask, l.t_offsets, l.t_blocks, g.dout, a.lse, g.delta, g.dk, g.dv});
}

namespace {

DensePush dense_push(const DenseAttention& a) {
  DensePush p{};
  p.Lq = a.Lq;
  p.Lk = a.Lk;
  p.heads = a.heads;
  p.ldq = a.ldq;
  p.ldkv = a.ldkv;
  p.ldc = a.ldc;
  p.q_off = a.q_off;
  p.k_off = a.k_off;
  p.v_off = a.v_off;
  p.c_off = a.c_off;
  p.q_batch = a.q_batch;
  p.kv_batch = a.kv_batch;
  p.c_batch = a.c_batch;
  p.causal_offset = a.causal_offset;
  p.block = std::max<uint32_t>(a.block, 1);
  p.nbq = a.nbq;
  p.nbk = a.nbk;
  p.scale = attention_scale(a.scale, a.head_dim);
  p.penalty = a.penalty;
  p.flags = (a.key_mask.empty() ? 0u : 1u) | (a.lse.empty() ? 0u : 2u) | (a.zero_padded_queries ? 4u : 0u) |
            (a.causal ? 8u : 0u) | (a.block_bias.empty() ? 0u : 16u);
  return p;
}

void check_dense(Stream& s, const DenseAttention& a, const char* op) {
  require(!a.q.empty() && !a.k.empty() && !a.v.empty(), op, "q, k and v must be bound");
  require(!a.zero_padded_queries || !a.query_mask.empty(), op, "zeroing padded queries needs the query mask");
  require(a.block_bias.empty() || (a.nbq > 0 && a.nbk > 0), op, "a block bias needs its grid");
  check_head_dim(s.device(), a.head_dim, op);
}

}  // namespace

void dense_attention(Stream& s, const DenseAttention& a) {
  if (a.Lq == 0) return;
  check_dense(s, a, "dense_attention");
  require(a.Lk > 0, "dense_attention", "no keys");
  const AttentionShape sh = attention_shape(s.device(), 64, (a.head_dim + 3) / 4 * 4, 2);  // vec4 tiles
  const std::vector<uint32_t> spec = {sh.wg, a.head_dim, sh.kt};
  DensePush p = dense_push(a);
  const double per_row = 4.0 * a.Lk * double(a.head_dim) * a.heads * a.batch;
  const double budget = s.dispatch_budget_flops();
  uint32_t rows = a.Lq;
  if (per_row * rows > budget) rows = std::max<uint32_t>(sh.wg, uint32_t(budget / per_row) / sh.wg * sh.wg);
  for (uint32_t q0 = 0; q0 < a.Lq; q0 += rows) {
    const uint32_t n = std::min(rows, a.Lq - q0);
    p.q_begin = q0;
    s.dispatch(kDense, spec, {a.q, a.k, a.v, a.key_mask, a.query_mask, a.block_bias, a.ctx, a.lse}, &p,
               ceil_div(n, sh.wg), a.heads, a.batch, per_row * n);
  }
}

void dense_attention_probs(Stream& s, const DenseAttention& a, uint32_t head, View out) {
  check_dense(s, a, "dense_attention_probs");
  require(!a.lse.empty(), "dense_attention_probs", "needs the forward pass's lse");
  require(head < a.heads, "dense_attention_probs", "head out of range");
  DensePush p = dense_push(a);
  p.c_off = 0;
  p.c_batch = a.Lq * a.Lk;  // one head per dispatch: [batch][Lq, Lk]
  p.h_begin = head;
  s.dispatch(kDenseProbs, {64u, a.head_dim}, {a.q, a.k, a.key_mask, a.block_bias, a.lse, out}, &p, a.Lq, 1, a.batch,
             2.0 * a.Lq * double(a.Lk) * a.head_dim * a.batch);
}

}  // namespace ops
}  // namespace bb::vk
