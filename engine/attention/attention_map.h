#pragma once
// Captured attention probabilities of one layer for one batch row.
// Full attention is stored densely ([heads, Lq, Lk]); block_sparse only as the tiles it computed
// (per head and query block: the key-block list, duplicates kept, and a [block, nk*block] tile),
// so a 4096-token capture costs O(L), never an L x L matrix per head.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace bb::attn {

struct AttentionMap {
  bool blocked = false;
  int heads = 0;
  int64_t query_len = 0, key_len = 0;

  // Dense (blocked == false): probs[(h * query_len + q) * key_len + k].
  std::vector<float> dense;

  // Blocked (blocked == true).
  int block = 0, num_blocks = 0;
  std::vector<int32_t> key_blocks;   // concatenated key-block lists per (head, query block)
  std::vector<int64_t> list_offset;  // [heads*num_blocks + 1] into key_blocks
  std::vector<int64_t> tile_offset;  // [heads*num_blocks + 1] into tiles
  std::vector<float> tiles;          // tile (h, qb) is [block, nk*block] row-major

  // Probability that query q gives key k in head h (duplicate key blocks summed; 0 if not computed).
  float prob(int h, int64_t q, int64_t k) const;
  // One query row over all keys (length key_len), for views and top-k queries.
  std::vector<float> row(int h, int64_t q) const;
  // Dense [query_len, key_len] matrix of one head (for tests and small inputs only).
  std::vector<float> dense_head(int h) const;
  size_t memory_bytes() const;
};

// Which layers to capture (empty = all). Capture is off unless `enabled`.
struct CaptureRequest {
  bool enabled = false;
  std::vector<int> layers;
  bool wants(int layer) const;
};

}  // namespace bb::attn
