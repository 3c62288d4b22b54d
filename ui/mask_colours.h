#pragma once
// The colour of one (query block, key block) cell in the attention mask views, following the HF
// blog's convention: global = blue, window (sliding) = orange, random = red. Cells that are not
// computed are dark grey; when the layer runs full attention every cell is "dense" teal.
// The views and the pixel tests both call this one function; the values come from the engine's
// palette so the CLI's PNGs and the window agree.
#include <cstdint>

#include "engine/attention/pattern_palette.h"

namespace bb::ui {

struct Rgb {
  uint8_t r, g, b;
  bool operator==(const Rgb&) const = default;
};

constexpr Rgb mask_cell_colour(bb::attn::BlockKind kind, bool full_attention = false) {
  const uint32_t c = bb::attn::color_of(kind, full_attention);
  return {uint8_t(c >> 16), uint8_t(c >> 8), uint8_t(c)};
}

}  // namespace bb::ui
