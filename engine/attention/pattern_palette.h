#pragma once
// The colour legend of attention patterns, shared by the CLI's PNG output and the UI views
// (the HF blog convention: blue global, orange window, red random; dark grey = not computed,
// teal = every cell computed because the layer runs full attention).
#include <cstdint>

#include "engine/attention/plan.h"

namespace bb::attn {

constexpr uint32_t kColorGlobal = 0x4287F5;       // blue
constexpr uint32_t kColorWindow = 0xFF9F1C;       // orange
constexpr uint32_t kColorRandom = 0xE63946;       // red
constexpr uint32_t kColorNotComputed = 0x32363E;  // dark grey
constexpr uint32_t kColorDense = 0x2A9D8F;        // teal: full attention

constexpr uint32_t color_of(BlockKind k, bool full_attention = false) {
  if (full_attention) return kColorDense;
  switch (k) {
    case BlockKind::Global: return kColorGlobal;
    case BlockKind::Window: return kColorWindow;
    case BlockKind::Random: return kColorRandom;
    case BlockKind::NotComputed: return kColorNotComputed;
  }
  return kColorNotComputed;
}

}  // namespace bb::attn
