#include "ui/token_view.h"

#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "ui/imgui_helpers.h"
#include "ui/imgui_style.h"
#include "ui/lab_paths.h"
#include "ui/lab_session.h"
#include "ui/task_manager.h"
#include "ui/selection_controls.h"
#include "ui/text_utils.h"

namespace bb::ui {

namespace {

// Tint of a token with weight position t in [0, 1] (orange for "attends to", cyan for "attended by").
ImU32 tint(float t, bool attendsTo) {
  const int a = int(std::lround(std::pow(std::clamp(t, 0.0f, 1.0f), 1.5f) * 175.0f));
  return attendsTo ? IM_COL32(255, 140, 40, a) : IM_COL32(60, 200, 255, a);
}

}  // namespace

TokenView::TokenView(LabSession* session) : session_(session) {}

void TokenView::draw() {
  if (showToolbar_) {
    drawToolbar();
    ImGui::Separator();
  }
  drawText();
}

void TokenView::drawToolbar() {
  const LabDocument* doc = session_->document();
  ImGui::PushFont(font(FontRole::Bold));
  ImGui::TextUnformatted(doc ? doc->label.toUtf8().constData() : "No document");
  ImGui::PopFont();
  if (doc) {
    ImGui::SameLine();
    label((withCommas(doc->tokens()) + " tokens" + (doc->truncated() ? " (cut at the model limit)" : "")).c_str());
    if (doc->truncated()) hoverHelp(("The document has " + withCommas(doc->fullLength) + " tokens; the model reads at most " + withCommas(doc->maxLength) + ".").c_str());
  }
  if (session_->attention()) drawSelectionControls(*session_, true);
}

void TokenView::drawText() {
  const LabDocument* doc = session_->document();
  if (!doc) {
    ImGui::PushTextWrapPos(0.0f);
    label("Open a document (File > Open Document, Ctrl+O) to see it here, token by token, with the "
          "attention of the selected token painted over the text.");
    ImGui::PopTextWrapPos();
    if (session_->tasks()->groupBusy(QStringLiteral("document"))) label("Tokenizing…");
    else if (ImGui::Button("Open the sample: Pride and Prejudice, ch. 1–6"))
      session_->openDocument(samplesDir() + QStringLiteral("/pride-and-prejudice-ch1-6.txt"));
    return;
  }
  ImGui::PushStyleColor(ImGuiCol_ChildBg, theme::kCanvasBg);
  ImGui::BeginChild("##text", ImVec2(0, 0), false);
  ImGui::PopStyleColor();
  const float pad = 12.0f;
  const float width = std::max(100.0f, ImGui::GetContentRegionAvail().x - pad * 2);
  const float lineH = ImGui::GetTextLineHeight() + 7.0f;
  if (layoutDoc_ != doc || std::fabs(layoutWidth_ - width) > 0.5f || layoutFontSize_ != ImGui::GetFontSize()) {
    layout_ = layoutTokens(*doc, width, lineH, [](const std::string& s) { return ImGui::CalcTextSize(s.c_str()).x; });
    layoutDoc_ = doc;
    layoutWidth_ = width;
    layoutFontSize_ = ImGui::GetFontSize();
  }
  const AttentionSelection& sel = session_->selection();
  if (sel.token != lastSelected_) {
    lastSelected_ = sel.token;
    if (sel.token >= 0) scrollToToken(sel.token);
  }
  // Scroll the requested token into view; repeated for a few frames because the first frames of a
  // resized panel may still change the layout.
  if (scrollTo_ >= 0 && scrollTo_ < doc->tokens() && scrollFrames_ > 0) {
    const TokenBox& b = layout_.boxes[size_t(scrollTo_)];
    if (b.line >= 0) {
      const float y = layout_.lines[size_t(b.line)].y;
      if (y < ImGui::GetScrollY() || y + lineH > ImGui::GetScrollY() + ImGui::GetWindowHeight())
        ImGui::SetScrollY(std::max(0.0f, y - ImGui::GetWindowHeight() * 0.35f));
    }
    if (--scrollFrames_ == 0) scrollTo_ = -1;
  }

  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const float ox = origin.x + pad, oy = origin.y + pad * 0.5f;
  ImGui::Dummy(ImVec2(width + pad * 2, layout_.height + pad));
  originX_ = ox;
  originY_ = oy;
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 clipMin = dl->GetClipRectMin(), clipMax = dl->GetClipRectMax();
  scrollY_ = clipMin.y - oy;
  visibleH_ = clipMax.y - clipMin.y;

  const std::vector<float>& weights = session_->selectionWeights();
  const std::vector<int64_t>& top = session_->highlightedTokens();
  const bool attendsTo = sel.direction == AttentionSelection::AttendsTo;
  const float maxWeight = top.empty() ? 1.0f : std::max(1e-9f, weights[size_t(top.front())]);
  std::vector<int> rank(top.size());

  const int firstLine = layout_.lineAt(clipMin.y - oy);
  const int lastLine = layout_.lineAt(clipMax.y - oy);
  const float textDy = (lineH - ImGui::GetTextLineHeight()) * 0.5f;
  int64_t hovered = -1;
  const ImVec2 m = ImGui::GetIO().MousePos;
  const bool inside = ImGui::IsWindowHovered() && m.x >= clipMin.x && m.y >= clipMin.y && m.x < clipMax.x && m.y < clipMax.y;
  if (inside) hovered = layout_.tokenAt(m.x - ox, m.y - oy);

  for (int l = std::max(0, firstLine); l >= 0 && l <= lastLine && l < int(layout_.lines.size()); ++l) {
    const TokenLine& line = layout_.lines[size_t(l)];
    const float y = oy + line.y;
    for (int64_t t = line.first; t <= line.last; ++t) {
      const TokenBox& b = layout_.boxes[size_t(t)];
      if (b.line != l) continue;
      const ImVec2 a(ox + b.x0, y + 1), z(ox + b.x1, y + lineH - 1);
      if (!weights.empty() && t < int64_t(weights.size())) {
        // Relative to the strongest weight, on a log axis: the eye sees where the mass goes.
        const float w = scale_.position(weights[size_t(t)] / maxWeight);
        if (w > 0) dl->AddRectFilled(a, z, tint(w, attendsTo), 2.0f);
      }
      if (b.special) dl->AddRect(a, z, theme::kTextMuted, 3.0f);
      ImU32 colour = b.special ? theme::kTextMuted : IM_COL32(225, 228, 234, 255);
      dl->AddText(ImVec2(ox + b.x0 + (b.special ? 3.0f : 0.0f), y + textDy), colour, b.text.c_str());
      if (t == hovered) dl->AddRect(a, z, IM_COL32(255, 255, 255, 120), 2.0f);
    }
  }
  // Top-k outlines with their rank, and the selected token, drawn last so they are on top.
  for (size_t r = 0; r < top.size(); ++r) {
    const TokenBox& b = layout_.boxes[size_t(top[r])];
    if (b.line < firstLine || b.line > lastLine || b.line < 0) continue;
    const float y = oy + layout_.lines[size_t(b.line)].y;
    const ImU32 c = attendsTo ? IM_COL32(255, 170, 70, 255) : IM_COL32(90, 210, 255, 255);
    dl->AddRect(ImVec2(ox + b.x0 - 1, y), ImVec2(ox + b.x1 + 1, y + lineH), c, 3.0f, 0, 2.0f);
    char buf[8];
    std::snprintf(buf, sizeof buf, "%d", int(r + 1));
    ImGui::PushFont(font(FontRole::Bold));
    const float s = ImGui::GetFontSize() * 0.72f;
    dl->AddText(ImGui::GetFont(), s, ImVec2(ox + b.x1 - 2, y - s * 0.45f), c, buf);
    ImGui::PopFont();
  }
  if (sel.token >= 0 && sel.token < doc->tokens()) {
    const TokenBox& b = layout_.boxes[size_t(sel.token)];
    if (b.line >= firstLine && b.line <= lastLine && b.line >= 0) {
      const float y = oy + layout_.lines[size_t(b.line)].y;
      dl->AddRectFilled(ImVec2(ox + b.x0 - 1, y), ImVec2(ox + b.x1 + 1, y + lineH), IM_COL32(255, 255, 255, 40), 3.0f);
      dl->AddRect(ImVec2(ox + b.x0 - 2, y - 1), ImVec2(ox + b.x1 + 2, y + lineH + 1), theme::kSelection, 3.0f, 0, 2.0f);
    }
  }

  if (hovered >= 0) {
    ImGui::BeginTooltip();
    ImGui::PushFont(font(FontRole::Bold));
    ImGui::Text("Token %lld", static_cast<long long>(hovered));
    ImGui::PopFont();
    ImGui::SameLine();
    label(("id " + std::to_string(doc->encoding.ids[size_t(hovered)]) + "  piece " + doc->encoding.pieces[size_t(hovered)]).c_str());
    if (const AttentionRun* run = session_->attention())
      label(("block " + std::to_string(hovered / std::max(1, run->block))).c_str());
    if (!weights.empty() && hovered < int64_t(weights.size())) {
      const auto it = std::find(top.begin(), top.end(), hovered);
      ImGui::Text("weight %.4f%s", double(weights[size_t(hovered)]),
                  it != top.end() ? (" (rank " + std::to_string(int(it - top.begin()) + 1) + ")").c_str() : "");
    }
    label("Click to select");
    ImGui::EndTooltip();
    if (ImGui::IsMouseClicked(ImGuiMouseButton_Left)) session_->selectToken(hovered);
  }
  ImGui::EndChild();
}

QRectF TokenView::tokenRect(int64_t token) const {
  if (!layoutDoc_ || token < 0 || token >= int64_t(layout_.boxes.size())) return {};
  const TokenBox& b = layout_.boxes[size_t(token)];
  if (b.line < 0) return {};
  const float y = layout_.lines[size_t(b.line)].y;
  if (y < scrollY_ || y + layout_.lineHeight > scrollY_ + visibleH_) return {};
  return QRectF(QPointF(originX_ + b.x0, originY_ + y), QPointF(originX_ + b.x1, originY_ + y + layout_.lineHeight));
}

std::string TokenView::exportCsv() const {
  const LabDocument* doc = session_->document();
  if (!doc) return {};
  const auto& w = session_->selectionWeights();
  const auto& top = session_->highlightedTokens();
  std::string out = "token,id,piece,begin_byte,end_byte,text,weight,rank\n";
  auto csv = [](const std::string& s) {
    std::string o = "\"";
    for (char c : s) o += c == '"' ? std::string("\"\"") : std::string(1, c);
    return o + "\"";
  };
  for (int64_t t = 0; t < doc->tokens(); ++t) {
    const auto it = std::find(top.begin(), top.end(), t);
    const auto span = doc->encoding.offsets_utf8.empty() ? std::pair<int64_t, int64_t>{0, 0} : doc->encoding.offsets_utf8[size_t(t)];
    out += std::to_string(t) + "," + std::to_string(doc->encoding.ids[size_t(t)]) + "," + csv(doc->encoding.pieces[size_t(t)]) +
           "," + std::to_string(span.first) + "," + std::to_string(span.second) + "," + csv(doc->tokenText(t)) + "," +
           (t < int64_t(w.size()) ? formatNumber(w[size_t(t)], 6) : std::string()) + "," +
           (it != top.end() ? std::to_string(int(it - top.begin()) + 1) : std::string()) + "\n";
  }
  return out;
}

std::string TokenView::exportJson() const {
  const LabDocument* doc = session_->document();
  if (!doc) return {};
  std::string out = "{\n  \"view\": \"document-tokens\",\n  \"document\": " + jsonString(doc->label.toStdString()) +
                    ",\n  \"selection\": " + jsonString(describeSelection(*session_)) + ",\n  \"selected_token\": " +
                    std::to_string(session_->selection().token) + ",\n  \"top_k\": [";
  const auto& w = session_->selectionWeights();
  bool first = true;
  for (int64_t t : session_->highlightedTokens()) {
    out += std::string(first ? "" : ", ") + "{\"token\": " + std::to_string(t) + ", \"text\": " + jsonString(doc->tokenText(t)) +
           ", \"weight\": " + formatNumber(w[size_t(t)], 6) + "}";
    first = false;
  }
  out += "],\n  \"tokens\": [";
  for (int64_t t = 0; t < doc->tokens(); ++t)
    out += std::string(t ? ", " : "") + "{\"id\": " + std::to_string(doc->encoding.ids[size_t(t)]) + ", \"text\": " +
           jsonString(doc->isSpecial(t) ? doc->encoding.pieces[size_t(t)] : doc->tokenText(t)) +
           (t < int64_t(w.size()) ? ", \"weight\": " + formatNumber(w[size_t(t)], 6) : std::string()) + "}";
  out += "]\n}\n";
  return out;
}

}  // namespace bb::ui
