#include "ui/colormap.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "ui/imgui_style.h"
#include "ui/mask_colours.h"

namespace bb::ui {

namespace {

// Control points of the ramp (approximately matplotlib's inferno).
constexpr float kStops[][3] = {{0, 0, 4},      {31, 12, 72},   {85, 15, 109},  {136, 34, 106}, {186, 54, 85},
                               {227, 89, 51},  {249, 140, 10}, {249, 201, 50}, {252, 255, 164}};
constexpr int kStopCount = int(sizeof kStops / sizeof kStops[0]);

}  // namespace

float LogScale::position(float v) const {
  if (!(v > floor)) return 0.0f;
  if (v >= ceil) return 1.0f;
  return (std::log10(v) - std::log10(floor)) / (std::log10(ceil) - std::log10(floor));
}

uint32_t heatRgba(float t) {
  t = std::clamp(t, 0.0f, 1.0f) * float(kStopCount - 1);
  const int i = std::min(int(t), kStopCount - 2);
  const float f = t - float(i);
  uint32_t out = 0xFF000000u;
  for (int c = 0; c < 3; ++c) {
    const float v = kStops[i][c] + (kStops[i + 1][c] - kStops[i][c]) * f;
    out |= uint32_t(std::lround(v)) << (8 * c);
  }
  return out;  // 0xAABBGGRR, as ImU32 and QImage::Format_RGBA8888 on little-endian
}

ImU32 heatColour(float t) { return ImU32(heatRgba(t)); }

uint32_t notComputedRgba() {
  const Rgb c = mask_cell_colour(bb::attn::BlockKind::NotComputed);
  return 0xFF000000u | uint32_t(c.b) << 16 | uint32_t(c.g) << 8 | uint32_t(c.r);
}

void drawColourBar(const LogScale& scale, float width, const char* caption) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 p = ImGui::GetCursorScreenPos();
  const float h = ImGui::GetTextLineHeight() * 0.7f;
  const int steps = 64;
  for (int i = 0; i < steps; ++i) {
    const float x0 = p.x + width * float(i) / steps, x1 = p.x + width * float(i + 1) / steps;
    dl->AddRectFilled(ImVec2(x0, p.y), ImVec2(x1 + 0.5f, p.y + h), heatColour((float(i) + 0.5f) / steps));
  }
  const float lineH = ImGui::GetTextLineHeight();
  char buf[16];
  for (float v = scale.floor; v <= scale.ceil * 1.001f; v *= 10.0f) {
    const float x = p.x + width * scale.position(v * 1.0001f);
    std::snprintf(buf, sizeof buf, v >= 1.0f ? "%.0f" : (v >= 0.01f ? "%.2g" : "%.0e"), double(v));
    const float tw = ImGui::CalcTextSize(buf).x;
    dl->AddLine(ImVec2(x, p.y + h), ImVec2(x, p.y + h + 3), theme::kTextMuted);
    dl->AddText(ImVec2(std::clamp(x - tw * 0.5f, p.x, p.x + width - tw), p.y + h + 3), theme::kTextMuted, buf);
  }
  ImGui::Dummy(ImVec2(width, h + 3 + lineH));
  if (caption) {
    ImGui::PushStyleColor(ImGuiCol_Text, theme::kTextMuted);
    ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + width);
    ImGui::TextUnformatted(caption);
    ImGui::PopTextWrapPos();
    ImGui::PopStyleColor();
  }
}

}  // namespace bb::ui
