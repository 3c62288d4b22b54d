#include "ui/mask_config.h"

#include "engine/core/error.h"

namespace bb::ui {

namespace {
void check(const std::string& field, int64_t value, int64_t lo, int64_t hi) {
  if (value < lo || value > hi)
    throw Error("mask view: " + field + " = " + std::to_string(value) + " is outside " + std::to_string(lo) +
                ".." + std::to_string(hi));
}
}  // namespace

void validate(const MaskConfig& c) {
  using namespace mask_limits;
  check("length", c.seq_len, kMinLength, kMaxLength);
  check("block", c.block, kMinBlock, kMaxBlock);
  check("random blocks", c.num_random, 0, kMaxRandom);
  check("heads", c.heads, 1, kMaxHeads);
  check("layer", c.layer, 0, kMaxLayer);
  check("head", c.head, 0, c.heads - 1);
  const int64_t nb = (c.seq_len + c.block - 1) / c.block;
  if (nb > kMaxBlocks)
    throw Error("mask view: length " + std::to_string(c.seq_len) + " with block " + std::to_string(c.block) +
                " gives " + std::to_string(nb) + " blocks; at most " + std::to_string(kMaxBlocks) + " can be drawn");
}

bb::attn::PatternRequest to_request(const MaskConfig& c) {
  bb::attn::PatternRequest r;
  r.seq_len = c.seq_len;
  r.block = c.block;
  r.num_random = c.num_random;
  r.heads = c.heads;
  r.layer = c.layer;
  r.max_position_embeddings = c.max_position_embeddings;
  r.mode = c.mode;
  r.configured = c.configured;
  return r;
}

}  // namespace bb::ui
