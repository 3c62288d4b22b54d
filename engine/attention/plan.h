#pragma once
// The BigBird ITC attention pattern, as one value: which key blocks each query block attends to
// and why (global / window / random), the random-block tables reproduced bit-exactly, padding
// to a block multiple, and the fallback to full attention for short inputs.
// Attention kernels, the CLI `mask` command and the UI pattern views all read this module;
// nothing else computes the pattern.
#include <cstdint>
#include <string>
#include <vector>

namespace bb::attn {

enum class AttentionType { OriginalFull, SimulatedSparse, BlockSparse };

// Which reference implementation's random blocks to reproduce (bigbird-spec.md §3.6, §3.7b).
enum class RandomBlocks {
  TF,       // google-research/bigbird: old-plan lengths {1024,2048,3072,4096}, 4096 grid
  HFTrain,  // transformers in train mode (and <= 4.29 in eval): old-plan lengths {1024,3072,4096}
  HFEval,   // transformers >= 4.30 in eval mode: every random block is block 0
};

AttentionType parse_attention_type(const std::string& s);  // original_full|simulated_sparse|block_sparse
std::string to_string(AttentionType t);
RandomBlocks parse_random_blocks(const std::string& s);  // tf|hf-train|hf-eval
std::string to_string(RandomBlocks m);

// Random key-block indices for one layer: [heads, num_blocks-2, r]; row j is query block j+1.
struct RandomTable {
  int heads = 0, rows = 0, r = 0;
  std::vector<int32_t> index;
  int32_t at(int head, int row, int t) const { return index[(size_t(head) * rows + row) * r + t]; }
};

struct TableParams {
  int64_t seq_len = 0;  // padded length seen by the attention layer (a multiple of block)
  int block = 64;
  int num_random = 3;
  int heads = 12;
  int layer = 0;                       // the layer index is the RNG seed
  int64_t max_position_embeddings = 4096;  // HF draws old-plan tables on this grid; TF always on 4096
  RandomBlocks mode = RandomBlocks::HFTrain;
};

// Exactly the table the chosen reference uses (all zeros for HFEval).
RandomTable random_block_table(const TableParams& p);

// Why a key block is attended by a query block. Order = drawing priority in the views.
enum class BlockKind : uint8_t { NotComputed = 0, Random = 1, Window = 2, Global = 3 };
const char* to_string(BlockKind k);

struct KeyBlock {
  int32_t block;
  BlockKind kind;
};

// How one forward pass attends, decided from the input length and the configuration.
struct AttentionDecision {
  AttentionType type;       // may be OriginalFull where BlockSparse was configured (fallback)
  int64_t padded_len;       // block_sparse: next multiple of the block; otherwise the input length
  bool fell_back = false;   // configured sparse, but the input is too short
  std::string reason;       // one line, for logs and the UI
};

// HF: full attention iff len <= (5 + 2r) * block. TF: iff the padded length <= 512.
AttentionDecision decide_attention(AttentionType configured, int64_t len, int block, int num_random,
                                   RandomBlocks mode);

// The complete pattern of one layer for one padded length.
class BlockPattern {
 public:
  BlockPattern() = default;
  BlockPattern(int64_t padded_len, int block, int num_random, int heads, RandomTable table);

  int num_blocks() const { return num_blocks_; }
  int block() const { return block_; }
  int heads() const { return heads_; }
  int num_random() const { return r_; }
  int64_t padded_len() const { return padded_len_; }
  const RandomTable& table() const { return table_; }

  // Key blocks of query block q for head h, in the order the scores are laid out:
  //   q == 0 or q == nb-1 : every block 0..nb-1 (global rows)
  //   otherwise           : block 0, the window (q-1, q, q+1 without repeating 0 or nb-1),
  //                          block nb-1, then the r random blocks in table order.
  // Duplicates are kept: a random block equal to a window or global block is attended twice,
  // exactly like the reference softmax.
  std::vector<KeyBlock> key_blocks(int head, int q) const;
  int max_key_blocks() const;  // upper bound of key_blocks().size() over q (for buffer sizing)

  // [nb * nb] row-major grid of the strongest reason per (query block, key block) for a head.
  std::vector<BlockKind> grid(int head) const;
  // [nb * nb] number of times each key block appears in each query block's softmax.
  std::vector<uint8_t> multiplicity(int head) const;
  // Number of (query block, key block) score tiles computed per head, duplicates counted.
  int64_t computed_block_pairs() const;

 private:
  int64_t padded_len_ = 0;
  int block_ = 0, num_blocks_ = 0, r_ = 0, heads_ = 0;
  RandomTable table_;
};

// Convenience: decide + table + pattern for layer `layer` of a model.
struct PatternRequest {
  int64_t seq_len = 4096;  // unpadded input length
  int block = 64;
  int num_random = 3;
  int heads = 12;
  int layer = 0;
  int64_t max_position_embeddings = 4096;
  RandomBlocks mode = RandomBlocks::HFTrain;
  AttentionType configured = AttentionType::BlockSparse;
};
struct LayerPattern {
  AttentionDecision decision;
  BlockPattern pattern;  // empty (num_blocks()==0) when the decision is full attention
};
LayerPattern plan_layer(const PatternRequest& req);

}  // namespace bb::attn
