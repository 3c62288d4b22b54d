#include "ui/selection_controls.h"

#include <imgui.h>

#include <algorithm>
#include <cfloat>

#include "ui/imgui_helpers.h"
#include "ui/lab_session.h"

namespace bb::ui {

namespace {

bool segmented(const char* id, int* value, std::initializer_list<const char*> names, float width) {
  const float spacing = ImGui::GetStyle().ItemSpacing.x * 0.4f;
  const float w = (width - spacing * float(names.size() - 1)) / float(names.size());
  bool changed = false;
  int i = 0;
  ImGui::PushID(id);
  for (const char* name : names) {
    if (i > 0) ImGui::SameLine(0, spacing);
    const bool selected = *value == i;
    if (selected) {
      ImGui::PushStyleColor(ImGuiCol_Button, IM_COL32(62, 98, 150, 255));
      ImGui::PushStyleColor(ImGuiCol_ButtonHovered, IM_COL32(74, 114, 170, 255));
    }
    if (ImGui::Button(name, ImVec2(w, 0)) && !selected) {
      *value = i;
      changed = true;
    }
    if (selected) ImGui::PopStyleColor(2);
    ++i;
  }
  ImGui::PopID();
  return changed;
}

}  // namespace

void drawSelectionControls(LabSession& session, bool compact) {
  AttentionSelection s = session.selection();
  const AttentionRun* run = session.attention();
  const int layers = run ? run->layers : (session.model() ? session.model()->config().num_hidden_layers : 1);
  const int heads = run ? run->heads : (session.model() ? session.model()->config().num_attention_heads : 1);
  const float full = ImGui::GetContentRegionAvail().x;

  int direction = int(s.direction);
  int mode = int(s.headMode);
  if (compact) {
    // Two lines: direction and layer; heads, rollout and top-k.
    const float sp = ImGui::GetStyle().ItemSpacing.x;
    segmented("direction", &direction, {"attends to", "attended by"}, std::min(260.0f, full * 0.55f));
    ImGui::SameLine();
    ImGui::SetNextItemWidth(std::max(60.0f, ImGui::GetContentRegionAvail().x));
    ImGui::SliderInt("##layer", &s.layer, 0, std::max(0, layers - 1), "layer %d");
    const bool one = mode == int(HeadMode::One);
    segmented("heads", &mode, {"one", "mean", "max"}, std::min(200.0f, full * 0.4f));
    if (one) {
      ImGui::SameLine();
      ImGui::SetNextItemWidth(std::min(90.0f, full * 0.18f));
      ImGui::SliderInt("##head", &s.head, 0, std::max(0, heads - 1), "head %d");
    }
    ImGui::SameLine();
    ImGui::Checkbox("rollout", &s.rollout);
    hoverHelp("Attention rollout (Abnar & Zuidema): the head-mean attention of layers 0..layer, each mixed "
              "half-and-half with the residual connection, multiplied through.");
    ImGui::SameLine();
    ImGui::SetNextItemWidth(std::max(60.0f, ImGui::GetContentRegionAvail().x - sp));
    ImGui::SliderInt("##topk", &s.topK, 1, 32, "top %d");
  } else {
    auto row = [](const char* name) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::AlignTextToFramePadding();
      label(name);
      ImGui::TableNextColumn();
      ImGui::SetNextItemWidth(-FLT_MIN);
    };
    if (ImGui::BeginTable("##selection", 2, ImGuiTableFlags_SizingStretchProp)) {
      ImGui::TableSetupColumn("label", ImGuiTableColumnFlags_WidthFixed, 80.0f);
      ImGui::TableSetupColumn("control", ImGuiTableColumnFlags_WidthStretch);
      row("Layer");
      ImGui::SliderInt("##layer", &s.layer, 0, std::max(0, layers - 1), "layer %d");
      row("Heads");
      segmented("heads", &mode, {"one", "mean", "max"}, ImGui::GetContentRegionAvail().x);
      if (mode == int(HeadMode::One)) {
        row("Head");
        ImGui::SliderInt("##head", &s.head, 0, std::max(0, heads - 1), "head %d");
      }
      row("Token");
      segmented("direction", &direction, {"attends to", "attended by"}, ImGui::GetContentRegionAvail().x);
      row("Rollout");
      ImGui::Checkbox("##rollout", &s.rollout);
      hoverHelp("Attention rollout (Abnar & Zuidema): the head-mean attention of layers 0..layer, each mixed "
                "half-and-half with the residual connection, multiplied through.");
      row("Top-k");
      ImGui::SliderInt("##topk", &s.topK, 1, 32, "%d tokens");
      ImGui::EndTable();
    }
  }
  s.direction = AttentionSelection::Direction(direction);
  s.headMode = HeadMode(mode);
  session.setSelection(s);
}

std::string describeSelection(const LabSession& session) {
  const AttentionSelection& s = session.selection();
  std::string heads = s.headMode == HeadMode::One ? "head " + std::to_string(s.head)
                                                  : (s.headMode == HeadMode::Mean ? "mean of heads" : "max over heads");
  if (s.rollout) heads = "rollout (head mean)";
  return "layer " + std::to_string(s.layer) + " · " + heads + " · " +
         (s.direction == AttentionSelection::AttendsTo ? "what it attends to" : "what attends to it");
}

}  // namespace bb::ui
