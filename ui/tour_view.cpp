#include "ui/tour_view.h"

#include <imgui.h>

#include <algorithm>
#include <cfloat>

#include "engine/core/error.h"
#include "ui/imgui_helpers.h"
#include "ui/imgui_style.h"
#include "ui/markdown.h"
#include "ui/text_utils.h"

namespace bb::ui {

TourView::TourView(std::vector<TourStep> steps) : steps_(std::move(steps)) {
  if (steps_.empty()) throw bb::Error("the tour has no steps (resources/tour/*.md were not compiled in)");
  try_ = steps_.front().pattern;
}

void TourView::setStep(int k) {
  step_ = std::clamp(k, 0, stepCount() - 1);
  try_ = current().pattern;
  scrollTop_ = true;
  if (onApply_) onApply_(current(), try_);
}

void TourView::setTryConfig(const MaskConfig& c) {
  MaskConfig next = c;
  try {
    validate(next);
  } catch (const bb::Error&) {
    return;
  }
  if (next == try_) return;
  try_ = next;
  if (onApply_) onApply_(current(), try_);
}

void TourView::remember(const std::string& id) {
  const ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
  controls_[id] = QRectF(QPointF(a.x, a.y), QPointF(b.x, b.y));
}

QRectF TourView::controlRect(const std::string& id) const {
  const auto it = controls_.find(id);
  return it == controls_.end() ? QRectF() : it->second;
}

void TourView::draw() {
  // Step dots.
  label(("Step " + std::to_string(step_ + 1) + " of " + std::to_string(stepCount())).c_str());
  ImGui::SameLine();
  ImDrawList* dl = ImGui::GetWindowDrawList();
  for (int i = 0; i < stepCount(); ++i) {
    ImGui::SameLine(0, 4);
    const ImVec2 p = ImGui::GetCursorScreenPos();
    const float r = 5.0f, y = p.y + ImGui::GetTextLineHeight() * 0.5f;
    ImGui::InvisibleButton(("##dot" + std::to_string(i)).c_str(), ImVec2(r * 2 + 2, ImGui::GetTextLineHeight()));
    if (ImGui::IsItemClicked()) setStep(i);
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", steps_[size_t(i)].title.c_str());
    dl->AddCircleFilled(ImVec2(p.x + r + 1, y), r, i == step_ ? theme::kAccent : (i < step_ ? IM_COL32(96, 150, 220, 120) : IM_COL32(70, 77, 90, 255)));
  }

  const float footer = ImGui::GetFrameHeightWithSpacing() * 4.6f + 16.0f;
  if (ImGui::BeginChild("##body", ImVec2(0, -footer), false)) {
    if (scrollTop_) {
      ImGui::SetScrollY(0);
      scrollTop_ = false;
    }
    drawMarkdown(current().body);
  }
  ImGui::EndChild();

  ImGui::Separator();
  ImGui::PushFont(font(FontRole::Bold));
  ImGui::TextUnformatted("Try it");
  ImGui::PopFont();
  ImGui::SameLine();
  label("(the pattern view follows)");
  MaskConfig c = try_;
  if (ImGui::BeginTable("##try", 3, ImGuiTableFlags_SizingStretchSame)) {
    ImGui::TableNextColumn();
    ImGui::SetNextItemWidth(-FLT_MIN);
    int len = int(c.seq_len);
    if (ImGui::SliderInt("##tlen", &len, 128, 8192, "length %d", ImGuiSliderFlags_Logarithmic | ImGuiSliderFlags_AlwaysClamp))
      c.seq_len = len;
    remember("length");
    ImGui::TableNextColumn();
    ImGui::SetNextItemWidth(-FLT_MIN);
    int blockLog = 0;
    while ((16 << blockLog) < c.block && blockLog < 4) ++blockLog;
    if (ImGui::SliderInt("##tblock", &blockLog, 0, 4, ("b = " + std::to_string(16 << blockLog)).c_str())) c.block = 16 << blockLog;
    remember("block");
    ImGui::TableNextColumn();
    ImGui::SetNextItemWidth(-FLT_MIN);
    ImGui::SliderInt("##trandom", &c.num_random, 0, 8, "r = %d");
    remember("random");
    ImGui::EndTable();
  }
  if (!(c == try_)) setTryConfig(c);

  const float w = (ImGui::GetContentRegionAvail().x - ImGui::GetStyle().ItemSpacing.x) * 0.5f;
  ImGui::BeginDisabled(step_ == 0);
  if (ImGui::Button("← Previous", ImVec2(w, 0))) previous();
  ImGui::EndDisabled();
  remember("previous");
  ImGui::SameLine();
  if (atEnd()) {
    if (ImGui::Button("Back to the start", ImVec2(w, 0))) setStep(0);
  } else {
    ImGui::PushStyleColor(ImGuiCol_Button, IM_COL32(62, 98, 150, 255));
    if (ImGui::Button("Next →", ImVec2(w, 0))) next();
    ImGui::PopStyleColor();
  }
  remember("next");
}

std::string TourView::exportJson() const {
  const TourStep& s = current();
  return "{\n  \"view\": \"tour\",\n  \"step\": " + std::to_string(step_ + 1) + ", \"steps\": " + std::to_string(stepCount()) +
         ",\n  \"title\": " + jsonString(s.title) + ",\n  \"length\": " + std::to_string(try_.seq_len) + ", \"block\": " +
         std::to_string(try_.block) + ", \"num_random_blocks\": " + std::to_string(try_.num_random) + ",\n  \"text\": " +
         jsonString(s.body) + "\n}\n";
}

}  // namespace bb::ui
