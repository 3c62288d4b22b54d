#include "ui/sparse_full_view.h"

#include <imgui.h>

#include <QImage>
#include <algorithm>
#include <cfloat>
#include <cmath>

#include "ui/colormap.h"
#include "ui/imgui_helpers.h"
#include "ui/imgui_style.h"
#include "ui/lab_session.h"
#include "ui/task_manager.h"
#include "ui/text_utils.h"

namespace bb::ui {

namespace {

constexpr ImU32 kDiffColour = IM_COL32(96, 170, 240, 255);
constexpr ImU32 kMassColour = IM_COL32(230, 110, 90, 255);

double meanOf(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / double(v.size());
}

}  // namespace

SparseFullView::SparseFullView(LabSession* session) : session_(session) {}

bool SparseFullView::animating() const { return session_->comparisonRunning(); }

void SparseFullView::draw() {
  drawHeader();
  const CompareRun* c = session_->comparison();
  if (!c) return;
  const float h = ImGui::GetContentRegionAvail().y;
  if (ImGui::BeginChild("##layers", ImVec2(ImGui::GetContentRegionAvail().x * 0.55f, h), true)) drawLayerBars(h - 20);
  ImGui::EndChild();
  ImGui::SameLine();
  if (ImGui::BeginChild("##outputs", ImVec2(0, h), true)) {
    drawPredictions();
    drawTokenStrip();
  }
  ImGui::EndChild();
}

void SparseFullView::drawHeader() {
  ImGui::PushFont(font(FontRole::Title));
  ImGui::TextUnformatted("Sparse vs full attention");
  ImGui::PopFont();
  const LabDocument* doc = session_->document();
  const LoadedModel* model = session_->model();
  ImGui::PushStyleColor(ImGuiCol_Text, theme::kTextMuted);
  ImGui::TextWrapped("The same input through block_sparse and original_full: where the hidden states drift apart, "
                     "how much attention full attention spends outside the sparse pattern, and whether the "
                     "predictions change.");
  ImGui::PopStyleColor();
  if (!model || !doc) {
    label("Needs a model and a document (File > Load Model, File > Open Document).");
    return;
  }
  if (session_->comparisonRunning()) {
    const TaskManager::Status st = session_->tasks()->status();
    ImGui::ProgressBar(float(st.group == QStringLiteral("compare") ? st.progress : 0.0), ImVec2(-FLT_MIN, 0),
                       (st.group == QStringLiteral("compare") ? st.detail : QStringLiteral("queued")).toUtf8().constData());
    if (ImGui::Button("Cancel##cmp")) session_->tasks()->cancelGroup(QStringLiteral("compare"));
    return;
  }
  const int64_t sel = session_->selection().token;
  const std::string what = sel > 0 && sel + 1 < doc->tokens() && !doc->isSpecial(sel)
                               ? "Compare, masking token " + std::to_string(sel) + " \"" + displayToken(*doc, sel) + "\" (F6)"
                               : std::string("Compare (F6)");
  if (ImGui::Button(what.c_str())) session_->runComparison(true);
  hoverHelp("Runs both forward passes on the worker thread. The selected token (click one in the text) is "
            "replaced by [MASK] in both runs, so the fill-mask predictions can be compared.");
  const CompareRun* c = session_->comparison();
  if (!c) return;
  ImGui::SameLine();
  label(("block_sparse " + formatDuration(c->sparseSeconds) + " · original_full " + formatDuration(c->fullSeconds) +
         " · " + withCommas(c->realLen) + " tokens")
            .c_str());
  if (c->sparseDecision.fell_back) {
    ImGui::PushStyleColor(ImGuiCol_Text, theme::kTextWarning);
    ImGui::TextWrapped("block_sparse fell back to full attention for this input (%s): both runs are the same.",
                       c->sparseDecision.reason.c_str());
    ImGui::PopStyleColor();
  }
}

void SparseFullView::drawLayerBars(float height) {
  const CompareRun* c = session_->comparison();
  sectionHeader("Per layer");
  const int layers = int(c->outsideMass.size());
  const float rowH = std::clamp((height - 150) / float(std::max(1, layers + 1)), 16.0f, 48.0f);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const float w = ImGui::GetContentRegionAvail().x;
  const float labelW = 80, valueW = 70;
  const float barW = (w - labelW - valueW * 2 - 20) * 0.5f;
  const ImVec2 p0 = ImGui::GetCursorScreenPos();
  const float headY = p0.y;
  dl->AddText(ImVec2(p0.x + labelW, headY), kDiffColour, "hidden-state difference");
  dl->AddText(ImVec2(p0.x + labelW + barW + valueW + 20, headY), kMassColour, "full's mass outside the pattern");
  const float top = headY + ImGui::GetTextLineHeight() + 6;
  double maxDiff = 1e-12;
  for (double d : c->hiddenDiff) maxDiff = std::max(maxDiff, d);
  const ImVec2 m = ImGui::GetIO().MousePos;
  for (int i = 0; i < int(c->hiddenDiff.size()); ++i) {
    const float y = top + float(i) * rowH;
    const std::string name = i == 0 ? "embeddings" : "layer " + std::to_string(i - 1);
    dl->AddText(ImVec2(p0.x, y + rowH * 0.5f - 8), theme::kTextMuted, name.c_str());
    const float x = p0.x + labelW;
    const double d = c->hiddenDiff[size_t(i)];
    dl->AddRectFilled(ImVec2(x, y + 3), ImVec2(x + barW, y + rowH - 3), IM_COL32(255, 255, 255, 12), 3);
    dl->AddRectFilled(ImVec2(x, y + 3), ImVec2(x + barW * float(d / maxDiff), y + rowH - 3), kDiffColour, 3);
    dl->AddText(ImVec2(x + barW + 6, y + rowH * 0.5f - 8), IM_COL32(222, 226, 232, 255), formatNumber(d, 3).c_str());
    if (i >= 1 && i - 1 < layers) {
      const std::vector<double>& heads = c->outsideMass[size_t(i - 1)];
      const double mean = meanOf(heads);
      const float x2 = x + barW + valueW + 20;
      dl->AddRectFilled(ImVec2(x2, y + 3), ImVec2(x2 + barW, y + rowH - 3), IM_COL32(255, 255, 255, 12), 3);
      dl->AddRectFilled(ImVec2(x2, y + 3), ImVec2(x2 + barW * float(std::min(1.0, mean)), y + rowH - 3), kMassColour, 3);
      for (double h : heads)  // each head as a tick
        dl->AddLine(ImVec2(x2 + barW * float(std::min(1.0, h)), y + 2), ImVec2(x2 + barW * float(std::min(1.0, h)), y + rowH - 2),
                    IM_COL32(255, 255, 255, 160), 1.5f);
      dl->AddText(ImVec2(x2 + barW + 6, y + rowH * 0.5f - 8), IM_COL32(222, 226, 232, 255),
                  (formatNumber(100 * mean, 3) + " %").c_str());
      if (ImGui::IsWindowHovered() && m.y >= y && m.y < y + rowH && m.x >= x2 && m.x < x2 + barW + valueW) {
        ImGui::BeginTooltip();
        ImGui::Text("Layer %d: share of full attention's probability on key blocks block_sparse never computes", i - 1);
        for (size_t h = 0; h < heads.size(); ++h) ImGui::Text("head %zu: %.2f %%", h, 100 * heads[h]);
        ImGui::EndTooltip();
      }
    }
  }
  ImGui::Dummy(ImVec2(w, top - p0.y + rowH * float(c->hiddenDiff.size()) + 6));
  ImGui::PushStyleColor(ImGuiCol_Text, theme::kTextMuted);
  ImGui::TextWrapped("Difference: ||h_sparse − h_full|| / ||h_full|| over all tokens after each layer. Mass outside: "
                     "the mean over query tokens of the probability full attention gives to keys outside the "
                     "block_sparse pattern of that layer (ticks: single heads).");
  ImGui::PopStyleColor();
}

void SparseFullView::drawPredictions() {
  const CompareRun* c = session_->comparison();
  sectionHeader("Output");
  if (!c->hasMlm) {
    label("This checkpoint has no masked-LM head: only the hidden states are compared.");
    return;
  }
  ImGui::Text("Top-1 agreement %.1f %%  ·  mean KL(full ‖ sparse) %.4g nats  ·  %zu positions", 100 * c->top1Agreement,
              c->meanKl, c->probes.size());
  if (c->maskedPosition < 0) {
    label("Select a token in the text and compare again to see fill-mask predictions for it.");
    return;
  }
  ImGui::Text("Token %lld masked (was \"%s\"):", static_cast<long long>(c->maskedPosition), c->maskedOriginal.c_str());
  if (ImGui::BeginTable("##pred", 4, ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingStretchProp)) {
    ImGui::TableSetupColumn("block_sparse");
    ImGui::TableSetupColumn("p##s", ImGuiTableColumnFlags_WidthFixed, 60);
    ImGui::TableSetupColumn("original_full");
    ImGui::TableSetupColumn("p##f", ImGuiTableColumnFlags_WidthFixed, 60);
    ImGui::TableHeadersRow();
    const auto& s = c->sparseTop.front();
    const auto& f = c->fullTop.front();
    for (size_t i = 0; i < std::max(s.size(), f.size()); ++i) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      if (i < s.size()) ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(kDiffColour), "%s", s[i].text.c_str());
      ImGui::TableNextColumn();
      if (i < s.size()) ImGui::TextUnformatted(formatProbability(s[i].probability).c_str());
      ImGui::TableNextColumn();
      if (i < f.size()) ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(kMassColour), "%s", f[i].text.c_str());
      ImGui::TableNextColumn();
      if (i < f.size()) ImGui::TextUnformatted(formatProbability(f[i].probability).c_str());
    }
    ImGui::EndTable();
  }
  label(("KL at the mask: " + formatNumber(c->kl.front(), 4) + " nats").c_str());
}

void SparseFullView::drawTokenStrip() {
  const CompareRun* c = session_->comparison();
  sectionHeader("Where the last layer differs");
  if (c->tokenDiff.empty()) return;
  float mx = 1e-12f;
  for (float v : c->tokenDiff) mx = std::max(mx, v);
  if (stripFor_ != c) {
    const int n = int(c->tokenDiff.size());
    QImage img(n, 1, QImage::Format_RGBA8888);
    auto* line = reinterpret_cast<uint32_t*>(img.scanLine(0));
    for (int i = 0; i < n; ++i) line[i] = heatRgba(std::sqrt(c->tokenDiff[size_t(i)] / mx));
    strip_.setImage(img);
    stripFor_ = c;
  }
  const ImVec2 p = ImGui::GetCursorScreenPos();
  const float w = ImGui::GetContentRegionAvail().x, h = 28;
  ImGui::GetWindowDrawList()->AddImage(strip_.id(), p, ImVec2(p.x + w, p.y + h));
  ImGui::InvisibleButton("##strip", ImVec2(w, h));
  if (ImGui::IsItemHovered()) {
    const int64_t t = std::clamp<int64_t>(int64_t((ImGui::GetIO().MousePos.x - p.x) / w * float(c->tokenDiff.size())), 0,
                                          int64_t(c->tokenDiff.size()) - 1);
    const LabDocument* doc = session_->document();
    ImGui::SetTooltip("token %lld %s: relative difference %.4f (click to select)", static_cast<long long>(t),
                      doc ? displayToken(*doc, t).c_str() : "", double(c->tokenDiff[size_t(t)]));
    if (ImGui::IsItemClicked()) session_->selectToken(t);
  }
  label(("per token, from the first (left) to the last (right); brightest = " + formatNumber(mx, 3)).c_str());
}

std::string SparseFullView::exportCsv() const {
  const CompareRun* c = session_->comparison();
  if (!c) return {};
  std::string out = "hidden_state,hidden_difference,mean_mass_outside_pattern";
  const size_t heads = c->outsideMass.empty() ? 0 : c->outsideMass[0].size();
  for (size_t h = 0; h < heads; ++h) out += ",mass_outside_head" + std::to_string(h);
  out += "\n";
  for (size_t i = 0; i < c->hiddenDiff.size(); ++i) {
    out += (i == 0 ? std::string("embeddings") : "layer" + std::to_string(i - 1)) + "," + formatNumber(c->hiddenDiff[i], 8) + ",";
    if (i >= 1 && i - 1 < c->outsideMass.size()) {
      out += formatNumber(meanOf(c->outsideMass[i - 1]), 8);
      for (double v : c->outsideMass[i - 1]) out.append(",").append(formatNumber(v, 8));
    } else {
      for (size_t h = 0; h < heads; ++h) out += ",";
    }
    out += "\n";
  }
  return out;
}

std::string SparseFullView::exportJson() const {
  const CompareRun* c = session_->comparison();
  if (!c) return {};
  std::string out = "{\n  \"view\": \"sparse-vs-full\",\n  \"tokens\": " + std::to_string(c->realLen) + ",\n";
  out += "  \"sparse_decision\": " + jsonString(c->sparseDecision.reason) + ",\n";
  out += "  \"seconds\": {\"block_sparse\": " + formatNumber(c->sparseSeconds, 6) + ", \"original_full\": " +
         formatNumber(c->fullSeconds, 6) + "},\n";
  out += "  \"hidden_difference\": [";
  for (size_t i = 0; i < c->hiddenDiff.size(); ++i) out += (i ? ", " : "") + formatNumber(c->hiddenDiff[i], 8);
  out += "],\n  \"mass_outside_pattern\": [";
  for (size_t l = 0; l < c->outsideMass.size(); ++l) {
    out += l ? ", [" : "[";
    for (size_t h = 0; h < c->outsideMass[l].size(); ++h) out += (h ? ", " : "") + formatNumber(c->outsideMass[l][h], 8);
    out += "]";
  }
  out += "],\n  \"top1_agreement\": " + formatNumber(c->top1Agreement, 6) + ", \"mean_kl\": " + formatNumber(c->meanKl, 6) +
         ",\n  \"masked_position\": " + std::to_string(c->maskedPosition);
  if (c->maskedPosition >= 0 && !c->sparseTop.empty()) {
    auto list = [](const std::vector<MaskedPrediction>& v) {
      std::string s = "[";
      for (size_t i = 0; i < v.size(); ++i)
        s += (i ? ", " : "") + std::string("{\"text\": ") + jsonString(v[i].text) + ", \"p\": " + formatNumber(v[i].probability, 6) + "}";
      return s + "]";
    };
    out += ",\n  \"fill_mask\": {\"block_sparse\": " + list(c->sparseTop.front()) + ", \"original_full\": " +
           list(c->fullTop.front()) + "}";
  }
  out += "\n}\n";
  return out;
}

}  // namespace bb::ui
