#include "ui/imgui_helpers.h"

#include <cstdio>

#include "ui/imgui_style.h"

namespace bb::ui {

ImU32 toImU32(Rgb c) { return IM_COL32(c.r, c.g, c.b, 255); }

std::string withCommas(int64_t v) {
  std::string digits = std::to_string(v < 0 ? -v : v), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return v < 0 ? "-" + out : out;
}

std::string percent(double part, double whole) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %%", whole > 0 ? 100.0 * part / whole : 0.0);
  return buf;
}

void sectionHeader(const char* title) {
  ImGui::Dummy(ImVec2(0, 4));
  ImGui::PushFont(font(FontRole::Bold));
  ImGui::TextUnformatted(title);
  ImGui::PopFont();
  ImGui::Separator();
}

void label(const char* text) {
  ImGui::PushStyleColor(ImGuiCol_Text, theme::kTextMuted);
  ImGui::TextUnformatted(text);
  ImGui::PopStyleColor();
}

void hoverHelp(const char* text) {
  if (!ImGui::IsItemHovered()) return;
  ImGui::BeginTooltip();
  ImGui::PushTextWrapPos(ImGui::GetFontSize() * 24.0f);
  ImGui::TextUnformatted(text);
  ImGui::PopTextWrapPos();
  ImGui::EndTooltip();
}

void swatch(Rgb c, float size) {
  const ImVec2 p = ImGui::GetCursorScreenPos();
  const float pad = (ImGui::GetTextLineHeight() - size) * 0.5f;
  ImGui::GetWindowDrawList()->AddRectFilled(ImVec2(p.x, p.y + pad), ImVec2(p.x + size, p.y + pad + size),
                                            toImU32(c), 3.0f);
  ImGui::Dummy(ImVec2(size, ImGui::GetTextLineHeight()));
}

}  // namespace bb::ui
