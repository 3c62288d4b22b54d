#include "engine/backend/vulkan/vk_kernel_checks.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>

#include "engine/attention/block_sparse_attention.h"
#include "engine/attention/dense_attention.h"
#include "engine/backend/reference/attention_backward_reference.h"
#include "engine/backend/vulkan/vk_check_util.h"
#include "engine/backend/vulkan/vk_device.h"
#include "engine/backend/vulkan/vk_ops.h"
#include "engine/io/half_float.h"
#include "engine/ops/activations.h"
#include "engine/ops/gemm.h"
#include "engine/ops/normalization.h"

namespace bb::vk::checks {

namespace {

// Per-op tolerances on the normalised max error (fp32 accumulation-order differences only).
constexpr double kTolGemm = 1e-5, kTolNorm = 1e-5, kTolActivation = 1e-5, kTolSoftmax = 2e-6, kTolExact = 0.0,
                 kTolAttention = 1e-5, kTolBackward = 1e-4;

using util::compare;
using util::dims;
using util::finish;
using util::perturb;
using util::randn;

std::vector<float> mask_with_tail(int64_t batch, int64_t len, int padded_tail) {
  std::vector<float> m(size_t(batch * len), 1.0f);
  for (int64_t t = len - padded_tail; t < len; ++t) m[size_t(t)] = 0.0f;  // batch row 0 only
  return m;
}

}  // namespace

std::string Check::line() const {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s %s: error %.2e (tolerance %.0e) %s", kernel.c_str(), shape.c_str(), error,
                tolerance, passed ? "ok" : "MISMATCH");
  return buf;
}

Check gemm(Stream& s, uint32_t M, uint32_t N, uint32_t K, bool trans_a, bool trans_b, bool bias, bool fp16,
           uint32_t batch, bool corrupt) {
  GemmShape sh;
  sh.M = M;
  sh.N = N;
  sh.K = K;
  sh.trans_a = trans_a;
  sh.trans_b = trans_b;
  sh.bias = bias;
  sh.fp16 = fp16;
  sh.batch = batch;
  return gemm(s, sh, corrupt);
}

Check gemm(Stream& s, const GemmShape& sh, bool corrupt) {
  const uint32_t M = sh.M, N = sh.N, K = sh.K, batch = sh.batch;
  const std::vector<float> a = randn(size_t(batch) * M * K, 1.0f, 11), b = randn(size_t(batch) * K * N, 1.0f, 12),
                           bias_v = randn(N, 1.0f, 13);
  std::vector<float> b_cpu = b;
  if (sh.fp16)
    for (float& x : b_cpu) x = io::f16_to_f32(io::f32_to_f16(x));
  const uint32_t lda = sh.trans_a ? M : K, ldb = sh.trans_b ? K : N, ldc = N + sh.ldc_pad;
  const size_t c_batch = size_t(M) * ldc, c_elems = sh.c_off + size_t(batch) * c_batch;
  const std::vector<float> c0 = randn(c_elems, 1.0f, 14);  // C before: beta scales it, padding keeps it
  std::vector<float> want = c0;
  for (uint32_t z = 0; z < batch; ++z) {
    float* c = want.data() + sh.c_off + z * c_batch;
    bb::ops::gemm(sh.trans_a, sh.trans_b, M, N, K, sh.alpha, a.data() + size_t(z) * M * K, lda,
                  b_cpu.data() + size_t(z) * K * N, ldb, sh.beta, c, ldc);
    if (sh.bias)
      for (uint32_t i = 0; i < M; ++i)
        for (uint32_t j = 0; j < N; ++j) c[size_t(i) * ldc + j] += bias_v[j];
  }

  Buffer da = upload_floats(s, a.data(), int64_t(a.size()));
  Buffer db = sh.fp16 ? upload_halves(s, b.data(), int64_t(b.size())) : upload_floats(s, b.data(), int64_t(b.size()));
  Buffer dbias = upload_floats(s, bias_v.data(), N);
  Buffer dc = upload_floats(s, c0.data(), int64_t(c0.size()));
  ops::Gemm g;
  g.a = view_of(da);
  g.b = view_of(db);
  g.c = view_of(dc);
  if (sh.bias) g.bias = view_of(dbias);
  g.trans_a = sh.trans_a;
  g.trans_b = sh.trans_b;
  g.b_fp16 = sh.fp16;
  g.M = M;
  g.N = N;
  g.K = K;
  g.lda = lda;
  g.ldb = ldb;
  g.ldc = ldc;
  g.c_off = sh.c_off;
  g.batch = batch;
  g.a_batch = M * K;
  g.b_batch = K * N;
  g.c_batch = uint32_t(c_batch);
  g.alpha = sh.alpha;
  g.beta = sh.beta;
  g.path = sh.path;
  ops::gemm(s, g);
  std::vector<float> got = download_floats(s, dc, int64_t(want.size()));
  perturb(got, corrupt);
  std::string shape = dims({M, N, K}) + (sh.trans_a ? " T" : " N") + (sh.trans_b ? "T" : "N") +
                      (sh.bias ? " bias" : "") + (batch > 1 ? " batch " + std::to_string(batch) : "");
  if (sh.alpha != 1.0f || sh.beta != 0.0f) shape += " alpha/beta";
  if (sh.ldc_pad || sh.c_off) shape += " ldc " + std::to_string(ldc) + " c_off " + std::to_string(sh.c_off);
  return finish(ops::gemm_kernel(s.device(), g), shape, compare(got, want), kTolGemm);
}

Check layer_norm(Stream& s, uint32_t rows, uint32_t cols, bool corrupt) {
  const std::vector<float> x = randn(size_t(rows) * cols, 2.0f, 21, 0.5f), gamma = randn(cols, 0.3f, 22, 1.0f),
                           beta = randn(cols, 0.3f, 23);
  std::vector<float> want(x.size());
  bb::ops::layer_norm(x.data(), gamma.data(), beta.data(), want.data(), rows, cols, 1e-5f);
  Buffer dx = upload_floats(s, x.data(), int64_t(x.size())), dg = upload_floats(s, gamma.data(), cols),
         dbt = upload_floats(s, beta.data(), cols);
  ops::layer_norm(s, view_of(dx), view_of(dg), view_of(dbt), view_of(dx), rows, cols, 1e-5f);  // in place
  std::vector<float> got = download_floats(s, dx, int64_t(x.size()));
  perturb(got, corrupt);
  return finish("layer_norm", dims({rows, cols}), compare(got, want), kTolNorm);
}

Check activation(Stream& s, Activation act, uint32_t n, bool corrupt) {
  const std::vector<float> x = randn(n, 3.0f, 31);
  std::vector<float> want = x;
  bb::ops::activation(act, want.data(), n);
  Buffer dx = upload_floats(s, x.data(), n);
  ops::activation(s, act, view_of(dx), n);
  std::vector<float> got = download_floats(s, dx, n);
  perturb(got, corrupt);
  return finish("activation", to_string(act) + " " + std::to_string(n), compare(got, want), kTolActivation);
}

Check softmax(Stream& s, uint32_t rows, uint32_t n, bool corrupt) {
  const std::vector<float> x = randn(size_t(rows) * n, 4.0f, 41);
  std::vector<float> want = x;
  bb::ops::softmax_rows(want.data(), rows, n, n);
  Buffer dx = upload_floats(s, x.data(), int64_t(x.size()));
  ops::softmax_rows(s, view_of(dx), rows, n, n);
  std::vector<float> got = download_floats(s, dx, int64_t(x.size()));
  perturb(got, corrupt);
  return finish("softmax", dims({rows, n}), compare(got, want), kTolSoftmax);
}

Check embedding(Stream& s, uint32_t rows, uint32_t cols, uint32_t vocab, uint32_t chunk_rows, bool corrupt) {
  const std::vector<float> table = randn(size_t(vocab) * cols, 1.0f, 51);
  std::mt19937 g(52);
  std::vector<int32_t> ids(rows);
  for (int32_t& id : ids) id = int32_t(g() % vocab);
  std::vector<float> want(size_t(rows) * cols);
  for (uint32_t r = 0; r < rows; ++r)
    std::copy_n(table.data() + size_t(ids[r]) * cols, cols, want.data() + size_t(r) * cols);
  Buffer dids = upload_ints(s, ids.data(), rows), dout = make_buffer(s.device(), int64_t(want.size()));
  for (uint32_t r0 = 0; r0 < vocab; r0 += chunk_rows) {
    const uint32_t n = std::min(chunk_rows, vocab - r0);
    Buffer chunk = upload_floats(s, table.data() + size_t(r0) * cols, int64_t(n) * cols);
    ops::embedding(s, view_of(dids), 0, view_of(chunk), int32_t(r0), int32_t(r0 + n), view_of(dout), rows, cols,
                   r0 > 0);
    s.flush();  // the chunk buffer is released at the end of this iteration
  }
  std::vector<float> got = download_floats(s, dout, int64_t(want.size()));
  perturb(got, corrupt);
  return finish("embedding",
                dims({rows, cols}) + " vocab " + std::to_string(vocab) + " chunks of " + std::to_string(chunk_rows),
                compare(got, want), kTolExact);
}

Check bias_residual(Stream& s, uint32_t rows, uint32_t cols, bool corrupt) {
  const std::vector<float> a = randn(size_t(rows) * cols, 1.0f, 61), bias = randn(cols, 1.0f, 62),
                           res = randn(size_t(rows) * cols, 1.0f, 63);
  std::vector<float> want(a.size());
  for (size_t i = 0; i < a.size(); ++i) want[i] = (a[i] + bias[i % cols]) + res[i];
  Buffer da = upload_floats(s, a.data(), int64_t(a.size())), db = upload_floats(s, bias.data(), cols),
         dr = upload_floats(s, res.data(), int64_t(res.size()));
  ops::bias_residual(s, view_of(da), view_of(db), view_of(dr), view_of(da), rows, cols);
  std::vector<float> got = download_floats(s, da, int64_t(a.size()));
  perturb(got, corrupt);
  return finish("bias_residual", dims({rows, cols}), compare(got, want), kTolExact);
}

namespace {

attn::BlockPattern make_pattern(const SparseShape& sh) {
  attn::TableParams tp;
  tp.seq_len = sh.len;
  tp.block = sh.block;
  tp.num_random = sh.random;
  tp.heads = sh.heads;
  tp.layer = sh.layer;
  tp.max_position_embeddings = std::max<int64_t>(sh.len, 4096);
  tp.mode = sh.mode;
  return attn::BlockPattern(sh.len, sh.block, sh.random, sh.heads, attn::random_block_table(tp));
}

std::string sparse_label(const SparseShape& sh) {
  return "L " + std::to_string(sh.len) + " block " + std::to_string(sh.block) + " r " + std::to_string(sh.random) +
         " heads " + std::to_string(sh.heads) + " d " + std::to_string(sh.head_dim) + " batch " +
         std::to_string(sh.batch) + " pad " + std::to_string(sh.padded_tail) +
         (sh.split_blocks != 0 ? " split " + std::to_string(sh.split_blocks) : "");
}

ops::SparseAttention sparse_args(const SparseShape& sh, const ops::SparseLists& lists, const Buffer& q, const Buffer& k,
                                 const Buffer& v, const Buffer& mask, const Buffer& ctx, const Buffer& lse) {
  const uint32_t H = uint32_t(sh.heads * sh.head_dim), L = uint32_t(sh.len);
  ops::SparseAttention a;
  a.q = view_of(q);
  a.k = view_of(k);
  a.v = view_of(v);
  a.ctx = view_of(ctx);
  a.mask = view_of(mask);
  a.lse = view_of(lse);
  a.lists = &lists;
  a.heads = uint32_t(sh.heads);
  a.head_dim = uint32_t(sh.head_dim);
  a.L = L;
  a.batch = uint32_t(sh.batch);
  a.ldq = a.ldkv = a.ldc = H;
  a.q_batch = a.kv_batch = a.c_batch = L * H;
  return a;
}

}  // namespace

Check block_sparse_attention(Stream& s, const SparseShape& sh, bool corrupt) {
  const attn::BlockPattern pattern = make_pattern(sh);
  const int64_t L = sh.len, H = int64_t(sh.heads) * sh.head_dim, n = sh.batch * L * H;
  const std::vector<float> q = randn(size_t(n), 1.0f, 71), k = randn(size_t(n), 1.0f, 72),
                           v = randn(size_t(n), 1.0f, 73);
  const std::vector<float> mask = mask_with_tail(sh.batch, L, sh.padded_tail);
  std::vector<float> want(static_cast<size_t>(n));
  std::vector<attn::AttentionMap> maps(size_t(sh.batch));
  for (int z = 0; z < sh.batch; ++z) {
    attn::BlockSparseArgs a;
    a.q = q.data() + z * L * H;
    a.k = k.data() + z * L * H;
    a.v = v.data() + z * L * H;
    a.ldq = a.ldkv = a.ldc = H;
    a.heads = sh.heads;
    a.head_dim = sh.head_dim;
    a.pattern = &pattern;
    a.mask = mask.data() + z * L;
    a.ctx = want.data() + z * L * H;
    a.capture = &maps[size_t(z)];
    attn::block_sparse_attention(a);
  }

  const ops::SparseLists lists = ops::upload_pattern(s, pattern, false, sh.split_blocks);
  Buffer dq = upload_floats(s, q.data(), n), dk = upload_floats(s, k.data(), n), dv = upload_floats(s, v.data(), n);
  Buffer dm = upload_floats(s, mask.data(), int64_t(mask.size()));
  Buffer dc = make_buffer(s.device(), n), dl = make_buffer(s.device(), sh.batch * sh.heads * L);
  const ops::SparseAttention a = sparse_args(sh, lists, dq, dk, dv, dm, dc, dl);
  ops::block_sparse_attention(s, a);
  std::vector<float> got = download_floats(s, dc, n);
  perturb(got, corrupt);
  double err = compare(got, want);

  // Probabilities, head by head, against the CPU capture's tiles.
  const int nb = pattern.num_blocks();
  for (int h = 0; h < sh.heads; ++h) {
    const int64_t t0 = int64_t(lists.host_tile_offsets[size_t(h) * nb]);
    const int64_t per = int64_t(lists.host_tile_offsets[size_t(h + 1) * nb]) - t0;
    Buffer dp = make_buffer(s.device(), per * sh.batch);
    ops::block_sparse_attention_probs(s, a, uint32_t(h), view_of(dp));
    const std::vector<float> probs = download_floats(s, dp, per * sh.batch);
    for (int z = 0; z < sh.batch; ++z) {
      const std::vector<float>& tiles = maps[size_t(z)].tiles;
      std::vector<float> cpu(tiles.begin() + t0, tiles.begin() + t0 + per);
      std::vector<float> gpu(probs.begin() + z * per, probs.begin() + (z + 1) * per);
      err = std::max(err, compare(gpu, cpu));
    }
  }
  return finish("attention_block_sparse", sparse_label(sh), err, kTolAttention);
}

Check block_sparse_attention_backward(Stream& s, const SparseShape& sh, bool corrupt) {
  const attn::BlockPattern pattern = make_pattern(sh);
  const int64_t L = sh.len, H = int64_t(sh.heads) * sh.head_dim, n = sh.batch * L * H;
  const std::vector<float> q = randn(size_t(n), 1.0f, 81), k = randn(size_t(n), 1.0f, 82),
                           v = randn(size_t(n), 1.0f, 83), dout = randn(size_t(n), 1.0f, 84);
  const std::vector<float> mask = mask_with_tail(sh.batch, L, sh.padded_tail);
  std::vector<float> want_q(static_cast<size_t>(n)), want_k(static_cast<size_t>(n)), want_v(static_cast<size_t>(n));
  for (int z = 0; z < sh.batch; ++z) {
    const size_t off = size_t(z * L * H);
    reference::AttentionGrads g = reference::block_sparse_attention_backward(
        q.data() + off, k.data() + off, v.data() + off, dout.data() + off, mask.data() + z * L, pattern, sh.head_dim);
    std::copy(g.dq.begin(), g.dq.end(), want_q.begin() + off);
    std::copy(g.dk.begin(), g.dk.end(), want_k.begin() + off);
    std::copy(g.dv.begin(), g.dv.end(), want_v.begin() + off);
  }

  const ops::SparseLists lists = ops::upload_pattern(s, pattern, true, sh.split_blocks);
  Buffer dq = upload_floats(s, q.data(), n), dk = upload_floats(s, k.data(), n), dv = upload_floats(s, v.data(), n);
  Buffer dm = upload_floats(s, mask.data(), int64_t(mask.size())), ddo = upload_floats(s, dout.data(), n);
  Buffer dc = make_buffer(s.device(), n), dl = make_buffer(s.device(), sh.batch * sh.heads * L);
  Buffer gq = make_buffer(s.device(), n), gk = make_buffer(s.device(), n), gv = make_buffer(s.device(), n);
  Buffer delta = make_buffer(s.device(), sh.batch * sh.heads * L);
  const ops::SparseAttention a = sparse_args(sh, lists, dq, dk, dv, dm, dc, dl);
  ops::block_sparse_attention(s, a);
  ops::SparseAttentionGrad g;
  g.o = view_of(dc);
  g.dout = view_of(ddo);
  g.dq = view_of(gq);
  g.dk = view_of(gk);
  g.dv = view_of(gv);
  g.delta = view_of(delta);
  g.ldo = uint32_t(H);
  g.o_batch = uint32_t(L * H);
  ops::block_sparse_attention_backward(s, a, g);
  std::vector<float> got_q = download_floats(s, gq, n), got_k = download_floats(s, gk, n),
                     got_v = download_floats(s, gv, n);
  perturb(got_k, corrupt);
  const double err = std::max({compare(got_q, want_q), compare(got_k, want_k), compare(got_v, want_v)});
  return finish("attention_block_sparse_backward", sparse_label(sh), err, kTolBackward);
}

Check dense_attention(Stream& s, const DenseShape& sh, bool corrupt) {
  const int64_t H = int64_t(sh.heads) * sh.head_dim, nq = sh.batch * sh.Lq * H, nk = sh.batch * sh.Lk * H;
  const std::vector<float> q = randn(size_t(nq), 1.0f, 91), k = randn(size_t(nk), 1.0f, 92),
                           v = randn(size_t(nk), 1.0f, 93);
  const std::vector<float> key_mask = mask_with_tail(sh.batch, sh.Lk, sh.padded_tail);
  const float penalty = sh.lowest_penalty ? std::numeric_limits<float>::lowest() : -10000.0f;
  attn::BlockPattern pattern;
  std::vector<float> bias;
  if (sh.simulated_block > 0) {
    SparseShape sp;
    sp.len = sh.Lq;
    sp.block = sh.simulated_block;
    sp.heads = sh.heads;
    pattern = make_pattern(sp);
    const int nb = pattern.num_blocks();
    for (int h = 0; h < sh.heads; ++h)
      for (uint8_t m : pattern.multiplicity(h))
        bias.push_back(m == 0 ? -10000.0f : (m == 1 ? 0.0f : std::log(float(m))));
    (void)nb;
  }

  std::vector<float> want(static_cast<size_t>(nq));
  std::vector<attn::AttentionMap> maps(size_t(sh.batch));
  for (int z = 0; z < sh.batch; ++z) {
    attn::DenseAttentionArgs a;
    a.q = q.data() + z * sh.Lq * H;
    a.k = k.data() + z * sh.Lk * H;
    a.v = v.data() + z * sh.Lk * H;
    a.ldq = a.ldkv = a.ldc = H;
    a.query_len = sh.Lq;
    a.key_len = sh.Lk;
    a.heads = sh.heads;
    a.head_dim = sh.head_dim;
    a.key_mask = key_mask.data() + z * sh.Lk;
    a.mask_penalty = penalty;
    a.causal = sh.causal;
    a.causal_offset = sh.causal_offset;
    if (sh.simulated_block > 0) {
      a.simulated_pattern = &pattern;
      a.query_mask = key_mask.data() + z * sh.Lk;
    }
    a.ctx = want.data() + z * sh.Lq * H;
    a.capture = &maps[size_t(z)];
    attn::dense_attention(a);
  }

  Buffer dq = upload_floats(s, q.data(), nq), dk = upload_floats(s, k.data(), nk), dv = upload_floats(s, v.data(), nk);
  Buffer dm = upload_floats(s, key_mask.data(), int64_t(key_mask.size()));
  Buffer db = upload_floats(s, bias.data(), int64_t(bias.size()));
  Buffer dc = make_buffer(s.device(), nq), dl = make_buffer(s.device(), sh.batch * sh.heads * sh.Lq);
  ops::DenseAttention a;
  a.q = view_of(dq);
  a.k = view_of(dk);
  a.v = view_of(dv);
  a.ctx = view_of(dc);
  a.key_mask = view_of(dm);
  a.lse = view_of(dl);
  a.Lq = uint32_t(sh.Lq);
  a.Lk = uint32_t(sh.Lk);
  a.heads = uint32_t(sh.heads);
  a.head_dim = uint32_t(sh.head_dim);
  a.batch = uint32_t(sh.batch);
  a.ldq = a.ldkv = a.ldc = uint32_t(H);
  a.q_batch = a.c_batch = uint32_t(sh.Lq * H);
  a.kv_batch = uint32_t(sh.Lk * H);
  a.penalty = penalty;
  a.causal = sh.causal;
  a.causal_offset = int32_t(sh.causal_offset);
  if (sh.simulated_block > 0) {
    a.block_bias = view_of(db);
    a.block = uint32_t(sh.simulated_block);
    a.nbq = a.nbk = uint32_t(pattern.num_blocks());
    a.query_mask = view_of(dm);
    a.zero_padded_queries = true;
  }
  ops::dense_attention(s, a);
  std::vector<float> got = download_floats(s, dc, nq);
  perturb(got, corrupt);
  double err = compare(got, want);
  const int64_t per = sh.Lq * sh.Lk;
  for (int h = 0; h < sh.heads; ++h) {
    Buffer dp = make_buffer(s.device(), per * sh.batch);
    ops::dense_attention_probs(s, a, uint32_t(h), view_of(dp));
    const std::vector<float> probs = download_floats(s, dp, per * sh.batch);
    for (int z = 0; z < sh.batch; ++z) {
      const std::vector<float>& d = maps[size_t(z)].dense;
      std::vector<float> cpu(d.begin() + h * per, d.begin() + (h + 1) * per);
      std::vector<float> gpu(probs.begin() + z * per, probs.begin() + (z + 1) * per);
      err = std::max(err, compare(gpu, cpu));
    }
  }
  const std::string label = dims({sh.Lq, sh.Lk}) + " heads " + std::to_string(sh.heads) + " d " +
                            std::to_string(sh.head_dim) + " batch " + std::to_string(sh.batch) +
                            (sh.causal ? " causal" : "") + (sh.simulated_block ? " simulated_sparse" : "") +
                            (sh.lowest_penalty ? " finfo.min" : "");
  return finish("attention_dense", label, err, kTolAttention);
}

std::vector<Check> self_test_suite(Stream& s, const std::string& corrupt_kernel) {
  std::vector<Check> out;
  bool corrupted = false;
  auto corrupt = [&](const char* kernel) {
    if (corrupted || corrupt_kernel.empty()) return false;
    if (corrupt_kernel != "any" && corrupt_kernel != kernel) return false;
    corrupted = true;
    return true;
  };
  auto last = std::chrono::steady_clock::now();
  auto add = [&](Check c) {
    const auto now = std::chrono::steady_clock::now();
    c.seconds = std::chrono::duration<double>(now - last).count();
    last = now;
    out.push_back(std::move(c));
    return out.back().passed;
  };
  if (!add(gemm(s, 67, 45, 131, false, true, true, false, 1, corrupt("gemm")))) return out;
  if (!add(gemm(s, 33, 17, 40, false, false, false, false, 1, corrupt("gemm")))) return out;
  if (!add(gemm(s, 20, 30, 25, true, false, false, false, 2, corrupt("gemm")))) return out;
  if (s.device().fp16_storage_enabled() && !add(gemm(s, 37, 29, 53, false, true, true, true, 1, corrupt("gemm_f16"))))
    return out;
  // Decoder steps (M <= ops::kSmallMRows) run gemm_small_m: vec4 weights (K % 4 == 0) and scalar.
  if (!add(gemm(s, 3, 45, 132, false, true, true, false, 1, corrupt("gemm_small_m")))) return out;
  if (!add(gemm(s, 2, 17, 41, false, false, false, false, 1, corrupt("gemm_small_m")))) return out;
  if (!add(layer_norm(s, 7, 100, corrupt("layer_norm")))) return out;
  for (Activation act :
       {Activation::GeluNew, Activation::GeluFast, Activation::Gelu, Activation::Relu, Activation::Tanh})
    if (!add(activation(s, act, 1000, corrupt("activation")))) return out;
  if (!add(softmax(s, 5, 300, corrupt("softmax")))) return out;
  if (!add(embedding(s, 10, 16, 50, 20, corrupt("embedding")))) return out;
  if (!add(bias_residual(s, 9, 13, corrupt("bias_residual")))) return out;
  SparseShape sp;
  sp.len = 64;
  sp.block = 8;
  sp.random = 1;
  sp.heads = 2;
  sp.head_dim = 8;
  sp.batch = 2;
  sp.padded_tail = 5;
  sp.split_blocks = 3;  // the global query blocks' lists (8 blocks) run as 3 merged parts
  if (!add(block_sparse_attention(s, sp, corrupt("attention_block_sparse")))) return out;
  if (!add(block_sparse_attention_backward(s, sp, corrupt("attention_block_sparse_backward")))) return out;
  DenseShape de;
  de.Lq = 20;
  de.Lk = 28;
  de.batch = 2;
  de.padded_tail = 3;
  de.causal = true;
  de.causal_offset = 8;
  if (!add(dense_attention(s, de, corrupt("attention_dense")))) return out;
  DenseShape sim;
  sim.Lq = sim.Lk = 64;
  sim.simulated_block = 8;
  sim.padded_tail = 6;
  if (!add(dense_attention(s, sim, corrupt("attention_dense")))) return out;
  return out;
}

}  // namespace bb::vk::checks
