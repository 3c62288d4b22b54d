#pragma once
// What the attention mask view shows: one layer/head of the engine's plan for one input length.
#include <cstdint>
#include <string>

#include "engine/attention/plan.h"

namespace bb::ui {

struct MaskConfig {
  int64_t seq_len = 4096;
  int block = 64;
  int num_random = 3;
  int heads = 12;
  int layer = 0;
  int head = 0;
  bb::attn::RandomBlocks mode = bb::attn::RandomBlocks::HFTrain;
  bb::attn::AttentionType configured = bb::attn::AttentionType::BlockSparse;
  int64_t max_position_embeddings = 4096;
  bool operator==(const MaskConfig&) const = default;
};

namespace mask_limits {
constexpr int64_t kMinLength = 1, kMaxLength = 16384;
constexpr int kMinBlock = 2, kMaxBlock = 512;
constexpr int kMaxRandom = 16, kMaxHeads = 64, kMaxLayer = 255;
constexpr int64_t kMaxBlocks = 1024;  // nb x nb cells are drawn
}  // namespace mask_limits

// Throws bb::Error with one line naming the bad field.
void validate(const MaskConfig& c);
bb::attn::PatternRequest to_request(const MaskConfig& c);

}  // namespace bb::ui
