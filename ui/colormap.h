#pragma once
// The heatmap colour scale of the attention views: a perceptual dark-to-bright ramp (inferno-like)
// on a logarithmic axis, so both 0.001 and 0.5 stay readable.
#include <imgui.h>

#include <cstdint>

namespace bb::ui {

struct LogScale {
  float floor = 1e-4f;  // values at or below map to 0
  float ceil = 1.0f;    // values at or above map to 1
  float position(float v) const;  // [0, 1]
};

// RGBA (alpha 255) for t in [0, 1].
uint32_t heatRgba(float t);
ImU32 heatColour(float t);
// Colour for "not computed by the sparse pattern" cells (matches the pattern view's skipped colour).
uint32_t notComputedRgba();

// A horizontal colour bar with tick labels at the decades of the scale, `width` wide.
void drawColourBar(const LogScale& scale, float width, const char* caption);

}  // namespace bb::ui
