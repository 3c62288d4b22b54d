#pragma once
// The studio's Dear ImGui look: a dark theme, DejaVu Sans rasterised for the screen's device
// pixel ratio, and the font roles the views use.
#include <imgui.h>

namespace bb::ui {

enum class FontRole { Regular = 0, Bold = 1, Title = 2, Mono = 3 };

// The font for a role in the current ImGui context (the default font where the TTF was missing).
ImFont* font(FontRole role);

// Fills the current context's font atlas for the given device pixel ratio (glyphs are rasterised
// at dpr x size and drawn at 1/dpr, so text stays sharp on HiDPI screens). Returns false when the
// DejaVu TTFs were not found and ImGui's built-in font is used instead.
bool loadFonts(float devicePixelRatio, float uiScale = 1.0f);

// Dark theme, rounding and spacing for the current context, scaled by the interface scale.
void applyStudioStyle(float uiScale = 1.0f);

// A few theme colours the views reuse for text and panels.
namespace theme {
constexpr ImU32 kTextMuted = IM_COL32(150, 157, 170, 255);
constexpr ImU32 kTextWarning = IM_COL32(255, 196, 92, 255);
constexpr ImU32 kTextError = IM_COL32(255, 110, 110, 255);
constexpr ImU32 kCanvasBg = IM_COL32(20, 22, 26, 255);
constexpr ImU32 kAccent = IM_COL32(96, 150, 220, 255);
constexpr ImU32 kSelection = IM_COL32(255, 255, 255, 255);
}  // namespace theme

}  // namespace bb::ui
