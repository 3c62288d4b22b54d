#pragma once
// The colour legend of attention patterns, shared by the CLI's PNG output and the UI views
// (the HF blog convention: blue global, orange window, red random).
#include <cstdint>

#include "engine/attention/plan.h"

namespace bb::attn {

constexpr uint32_t kColorGlobal = 0x3B7DD8;       // blue
constexpr uint32_t kColorWindow = 0xF28E2B;       // orange
constexpr uint32_t kColorRandom = 0xD62728;       // red
constexpr uint32_t kColorNotComputed = 0x2A2D34;  // dark grey

constexpr uint32_t color_of(BlockKind k) {
  switch (k) {
    case BlockKind::Global: return kColorGlobal;
    case BlockKind::Window: return kColorWindow;
    case BlockKind::Random: return kColorRandom;
    case BlockKind::NotComputed: return kColorNotComputed;
  }
  return kColorNotComputed;
}

}  // namespace bb::attn
