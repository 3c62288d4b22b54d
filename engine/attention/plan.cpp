#include "engine/attention/plan.h"

#include <algorithm>
#include <numeric>

#include "engine/attention/numpy_random.h"
#include "engine/core/error.h"

namespace bb::attn {

AttentionType parse_attention_type(const std::string& s) {
  if (s == "original_full" || s == "full") return AttentionType::OriginalFull;
  if (s == "simulated_sparse") return AttentionType::SimulatedSparse;
  if (s == "block_sparse" || s == "sparse") return AttentionType::BlockSparse;
  throw Error("unknown attention type '" + s + "' (expected original_full, simulated_sparse or block_sparse)");
}

std::string to_string(AttentionType t) {
  switch (t) {
    case AttentionType::OriginalFull: return "original_full";
    case AttentionType::SimulatedSparse: return "simulated_sparse";
    case AttentionType::BlockSparse: return "block_sparse";
  }
  return "?";
}

RandomBlocks parse_random_blocks(const std::string& s) {
  if (s == "tf") return RandomBlocks::TF;
  if (s == "hf-train" || s == "hf_train" || s == "hf-legacy") return RandomBlocks::HFTrain;
  if (s == "hf-eval" || s == "hf_eval") return RandomBlocks::HFEval;
  throw Error("unknown random-block reference '" + s + "' (expected tf, hf-train or hf-eval)");
}

std::string to_string(RandomBlocks m) {
  switch (m) {
    case RandomBlocks::TF: return "tf";
    case RandomBlocks::HFTrain: return "hf-train";
    case RandomBlocks::HFEval: return "hf-eval";
  }
  return "?";
}

const char* to_string(BlockKind k) {
  switch (k) {
    case BlockKind::NotComputed: return "not computed";
    case BlockKind::Random: return "random";
    case BlockKind::Window: return "window";
    case BlockKind::Global: return "global";
  }
  return "?";
}

namespace {

// Python slice a[lo:hi] of the list [first, first+1, ..., first+n-1], with Python's clamping.
std::vector<int32_t> slice_range(int32_t first, int32_t n, int64_t lo, int64_t hi) {
  auto clamp = [n](int64_t i) { return i < 0 ? std::max<int64_t>(0, n + i) : std::min<int64_t>(i, n); };
  lo = clamp(lo);
  hi = clamp(hi);
  std::vector<int32_t> out;
  for (int64_t i = lo; i < hi; ++i) out.push_back(first + int32_t(i));
  return out;
}

void take_first_r(const std::vector<int32_t>& perm, int r, int32_t* dst, int query_block) {
  if (int(perm.size()) < r)
    throw Error("sequence too short: query block " + std::to_string(query_block) + " has only " +
                std::to_string(perm.size()) + " candidate random blocks for r=" + std::to_string(r));
  std::copy(perm.begin(), perm.begin() + r, dst);
}

// "Old plan" (_bigbird_block_rand_mask with last_idx=1024) for one head, on the grid of
// `grid_len` tokens; keeps the first `rows` rows.
void old_plan_head(NumpyRandom& rng, int64_t grid_len, int block, int r, int rows, int32_t* out) {
  const int32_t nb = int32_t(grid_len / block);
  const int32_t mid_n = nb - 2;  // middle_seq = [1, ..., nb-2]
  int64_t last = nb - 1;
  const int64_t last_idx = 1024;
  if (last_idx > 2 * block) last = last_idx / block - 1;
  std::vector<int32_t> row(static_cast<size_t>(r));
  for (int32_t i = 1; i < nb - 1; ++i) {
    int64_t start = i - 2, end = i;
    std::vector<int32_t> cand;
    if (i == 1) {
      cand = slice_range(1, mid_n, 2, last);
    } else if (i == 2) {
      cand = slice_range(1, mid_n, 3, last);
    } else if (i == nb - 3) {
      cand = slice_range(1, mid_n, 0, last);
    } else if (i == nb - 2) {
      cand = slice_range(1, mid_n, 0, last);
    } else if (start > last) {
      start = last;
      cand = slice_range(1, mid_n, 0, start);
    } else if (end + 1 == last) {
      cand = slice_range(1, mid_n, 0, start);
    } else {
      cand = slice_range(1, mid_n, 0, start);
      auto tail = slice_range(1, mid_n, end + 1, last);
      cand.insert(cand.end(), tail.begin(), tail.end());
    }
    std::vector<int32_t> perm = rng.permutation(std::move(cand));
    if (i - 1 < rows) {
      take_first_r(perm, r, out + size_t(i - 1) * r, i);
    } else if (int(perm.size()) < r) {
      take_first_r(perm, r, row.data(), i);  // the reference fails here too
    }
  }
}

// _get_single_block_row_attention
std::vector<int32_t> single_block_row(NumpyRandom& rng, int32_t block_id, int32_t to_start, int32_t to_end,
                                      int n) {
  std::vector<int32_t> blocks(size_t(std::max(0, to_end - to_start)));
  std::iota(blocks.begin(), blocks.end(), to_start);
  std::vector<int32_t> perm = rng.permutation(std::move(blocks));
  auto illegal = [&](int32_t b) {
    if (b >= block_id - 1 && b <= block_id + 1) return true;
    if (b == 0) return true;             // global_block_left = 1
    if (b == to_end - 1) return true;    // global_block_right = 1
    if (block_id == 1 && b == to_end - 2) return true;
    if (block_id == to_end - 2 && b == 1) return true;
    return false;
  };
  std::vector<int32_t> selected;
  for (int32_t b : perm) {
    if (!illegal(b)) selected.push_back(b);
    if (int(selected.size()) == n) break;
  }
  return selected;
}

// _get_rand_attn_plan + _bigbird_block_rand_mask_with_head, all heads at once.
void plan_path(NumpyRandom& rng, int64_t seq_len, int block, int r, int heads, RandomTable& t) {
  const int32_t nb = int32_t(seq_len / block);
  std::vector<int64_t> plan_from;
  std::vector<int> plan_rand;
  if (2 * r + 5 < nb) {
    plan_from = {int64_t(2 * r + 5) * block, seq_len};
    plan_rand = {r, 0};
  } else if (r + 5 < nb) {
    plan_from = {int64_t(r + 5) * block, seq_len};
    plan_rand = {r / 2, r - r / 2};
  } else {
    plan_from = {seq_len};
    plan_rand = {r};
  }
  std::vector<int32_t> pbl;
  for (int64_t f : plan_from) pbl.push_back(int32_t(f / block));
  const int max_plan_idx = int(std::find(plan_from.begin(), plan_from.end(), seq_len) - plan_from.begin());
  int total_r = 0;
  for (int i = 0; i <= max_plan_idx; ++i) total_r += plan_rand[size_t(i)];
  // Full table [heads][nb][total_r]; the first and last rows are dropped at the end.
  std::vector<int32_t> full(size_t(heads) * nb * total_r, 0);
  auto prefix = [&](int upto) {
    int s = 0;
    for (int i = 0; i < upto; ++i) s += plan_rand[size_t(i)];
    return s;
  };
  auto fill = [&](int32_t row, int col0, int col1, int32_t to_start, int32_t to_end, int n) {
    for (int h = 0; h < heads; ++h) {
      std::vector<int32_t> sel = single_block_row(rng, row, to_start, to_end, n);
      if (int(sel.size()) != col1 - col0)
        throw Error("sequence too short: cannot place " + std::to_string(col1 - col0) +
                    " random blocks for query block " + std::to_string(row) + " (only " +
                    std::to_string(sel.size()) + " legal)");
      std::copy(sel.begin(), sel.end(), full.begin() + (size_t(h) * nb + row) * total_r + col0);
    }
  };
  for (int plan_idx = 0; plan_idx <= max_plan_idx; ++plan_idx) {
    int rnd_r_cnt = 0;
    if (plan_idx > 0) {
      if (plan_rand[size_t(plan_idx)] > 0) {
        rnd_r_cnt = prefix(plan_idx);
        int curr = prefix(plan_idx + 1);
        for (int32_t row = 1; row < pbl[size_t(plan_idx - 1)]; ++row)
          fill(row, rnd_r_cnt, curr, pbl[size_t(plan_idx - 1)], pbl[size_t(plan_idx)], plan_rand[size_t(plan_idx)]);
      }
      for (int pl = 0; pl < plan_idx; ++pl) {
        if (plan_rand[size_t(pl)] == 0) continue;
        for (int32_t row = pbl[size_t(plan_idx - 1)]; row < pbl[size_t(plan_idx)]; ++row) {
          int cnt = 0;
          int32_t to_start = 0;
          if (pl > 0) {
            cnt = prefix(pl);
            to_start = pbl[size_t(pl - 1)];
          }
          int curr = prefix(pl + 1);
          fill(row, cnt, curr, to_start, pbl[size_t(pl)], plan_rand[size_t(pl)]);
        }
      }
    }
    if (plan_rand[size_t(plan_idx)] == 0) continue;
    int curr = prefix(plan_idx + 1);
    int32_t from_start = 1, to_start = 0;
    if (plan_idx > 0) {
      rnd_r_cnt = prefix(plan_idx);
      from_start = pbl[size_t(plan_idx - 1)];
      to_start = pbl[size_t(plan_idx - 1)];
    }
    for (int32_t row = from_start; row < pbl[size_t(plan_idx)]; ++row)
      fill(row, rnd_r_cnt, curr, to_start, pbl[size_t(plan_idx)], plan_rand[size_t(plan_idx)]);
  }
  // Keep rows 1..nb-2. total_r equals r for every plan case.
  for (int h = 0; h < heads; ++h)
    for (int32_t row = 1; row < nb - 1; ++row)
      for (int c = 0; c < total_r; ++c)
        t.index[(size_t(h) * t.rows + (row - 1)) * t.r + c] = full[(size_t(h) * nb + row) * total_r + c];
}

}  // namespace

RandomTable random_block_table(const TableParams& p) {
  if (p.block <= 0 || p.seq_len <= 0 || p.seq_len % p.block != 0)
    throw Error("random block table: length " + std::to_string(p.seq_len) + " is not a positive multiple of block " +
                std::to_string(p.block));
  if (p.num_random < 0 || p.heads <= 0) throw Error("random block table: invalid heads or random block count");
  const int nb = int(p.seq_len / p.block);
  if (nb < 3) throw Error("random block table: need at least 3 blocks, got " + std::to_string(nb));
  RandomTable t;
  t.heads = p.heads;
  t.rows = nb - 2;
  t.r = p.num_random;
  t.index.assign(size_t(t.heads) * t.rows * t.r, 0);
  if (p.mode == RandomBlocks::HFEval || p.num_random == 0) return t;

  NumpyRandom rng(uint32_t(p.layer));
  const bool tf = p.mode == RandomBlocks::TF;
  const int64_t L = p.seq_len;
  const bool old_plan = L == 1024 || L == 3072 || L == 4096 || (tf && L == 2048);
  if (old_plan) {
    const int64_t grid = tf ? 4096 : p.max_position_embeddings;
    if (grid % p.block != 0 || grid / p.block < nb)
      throw Error("random block table: grid of " + std::to_string(grid) + " tokens cannot hold " +
                  std::to_string(nb) + " blocks");
    for (int h = 0; h < p.heads; ++h)
      old_plan_head(rng, grid, p.block, p.num_random, t.rows, t.index.data() + size_t(h) * t.rows * t.r);
  } else {
    plan_path(rng, L, p.block, p.num_random, p.heads, t);
  }
  return t;
}

AttentionDecision decide_attention(AttentionType configured, int64_t len, int block, int num_random,
                                   RandomBlocks mode) {
  if (len <= 0) throw Error("empty input: sequence length is 0");
  if (block <= 0) throw Error("block size must be positive");
  AttentionDecision d{configured, len, false, ""};
  if (configured == AttentionType::OriginalFull) {
    d.reason = "original_full attention configured";
    return d;
  }
  const int64_t padded = (len + block - 1) / block * block;
  bool too_short;
  std::string rule;
  if (mode == RandomBlocks::TF) {
    too_short = padded <= 512 || padded / block < 5;
    rule = "the original TF code uses full attention up to 512 tokens";
  } else {
    const int64_t limit = int64_t(5 + 2 * num_random) * block;
    too_short = len <= limit;
    rule = "HF uses full attention for inputs of at most (5+2r)*block = " + std::to_string(limit) + " tokens";
  }
  if (too_short) {
    d.type = AttentionType::OriginalFull;
    d.fell_back = true;
    d.reason = std::to_string(len) + " tokens: " + rule;
    return d;
  }
  d.padded_len = padded;
  d.reason = to_string(configured) + " over " + std::to_string(padded / block) + " blocks of " +
             std::to_string(block) + (padded != len ? " (padded from " + std::to_string(len) + ")" : "");
  return d;
}

BlockPattern::BlockPattern(int64_t padded_len, int block, int num_random, int heads, RandomTable table)
    : padded_len_(padded_len), block_(block), num_blocks_(int(padded_len / block)), r_(num_random),
      heads_(heads), table_(std::move(table)) {
  if (padded_len % block != 0) throw Error("block pattern: length is not a multiple of the block size");
  if (num_blocks_ < 5) throw Error("block pattern: block_sparse needs at least 5 blocks");
  if (table_.heads != heads || table_.rows != num_blocks_ - 2 || table_.r != num_random)
    throw Error("block pattern: random table shape does not match");
}

std::vector<KeyBlock> BlockPattern::key_blocks(int head, int q) const {
  std::vector<KeyBlock> out;
  const int nb = num_blocks_;
  if (q == 0 || q == nb - 1) {
    out.reserve(size_t(nb));
    for (int k = 0; k < nb; ++k) out.push_back({k, BlockKind::Global});
    return out;
  }
  out.reserve(size_t(5 + r_));
  out.push_back({0, BlockKind::Global});
  for (int k = q - 1; k <= q + 1; ++k)
    if (k != 0 && k != nb - 1) out.push_back({k, BlockKind::Window});
  out.push_back({nb - 1, BlockKind::Global});
  for (int t = 0; t < r_; ++t) out.push_back({table_.at(head, q - 1, t), BlockKind::Random});
  return out;
}

int BlockPattern::max_key_blocks() const { return std::max(num_blocks_, 5 + r_); }

std::vector<BlockKind> BlockPattern::grid(int head) const {
  const int nb = num_blocks_;
  std::vector<BlockKind> g(size_t(nb) * nb, BlockKind::NotComputed);
  for (int q = 0; q < nb; ++q)
    for (const KeyBlock& kb : key_blocks(head, q)) {
      BlockKind& cell = g[size_t(q) * nb + kb.block];
      cell = std::max(cell, kb.kind);
    }
  return g;
}

std::vector<uint8_t> BlockPattern::multiplicity(int head) const {
  const int nb = num_blocks_;
  std::vector<uint8_t> m(size_t(nb) * nb, 0);
  for (int q = 0; q < nb; ++q)
    for (const KeyBlock& kb : key_blocks(head, q)) ++m[size_t(q) * nb + kb.block];
  return m;
}

int64_t BlockPattern::computed_block_pairs() const {
  const int64_t nb = num_blocks_;
  return 2 * nb + 2 * (4 + r_) + (nb - 4) * (5 + r_);
}

LayerPattern plan_layer(const PatternRequest& req) {
  LayerPattern lp;
  lp.decision = decide_attention(req.configured, req.seq_len, req.block, req.num_random, req.mode);
  if (lp.decision.type == AttentionType::OriginalFull) return lp;
  TableParams tp;
  tp.seq_len = lp.decision.padded_len;
  tp.block = req.block;
  tp.num_random = req.num_random;
  tp.heads = req.heads;
  tp.layer = req.layer;
  tp.max_position_embeddings = req.max_position_embeddings;
  tp.mode = req.mode;
  lp.pattern = BlockPattern(lp.decision.padded_len, req.block, req.num_random, req.heads, random_block_table(tp));
  return lp;
}

}  // namespace bb::attn
