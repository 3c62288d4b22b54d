#include "ui/document_view.h"

#include <imgui.h>

#include <QImage>
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>

#include "engine/attention/attention_analysis.h"
#include "ui/imgui_helpers.h"
#include "ui/imgui_style.h"
#include "ui/lab_paths.h"
#include "ui/lab_session.h"
#include "ui/selection_controls.h"
#include "ui/task_manager.h"
#include "ui/text_utils.h"

namespace bb::ui {

namespace {

constexpr float kPanelWidth = 330.0f;
constexpr float kAxisLeft = 44.0f, kAxisTop = 24.0f;
constexpr int kMaxTokenTexture = 1024;  // token texture side limit (tokens)
constexpr float kTokenLevelPx = 1.5f;   // a token at least this wide: draw tokens, not blocks

bb::attn::HeadSelect headSelect(const AttentionSelection& s) {
  return s.headMode == HeadMode::One ? bb::attn::HeadSelect::one(s.head)
                                     : (s.headMode == HeadMode::Mean ? bb::attn::HeadSelect::mean()
                                                                     : bb::attn::HeadSelect::max());
}

void progressLine(LabSession& session, const QString& group) {
  const TaskManager::Status st = session.tasks()->status();
  if (st.group != group) {
    label("Queued…");
    return;
  }
  const std::string text = (st.title + (st.detail.isEmpty() ? QString() : QStringLiteral(": ") + st.detail)).toStdString();
  ImGui::ProgressBar(float(st.progress), ImVec2(-FLT_MIN, 0), text.c_str());
  if (ImGui::Button("Cancel##task")) session.tasks()->cancel(st.id);
}

}  // namespace

DocumentView::DocumentView(LabSession* session) : session_(session) {}

bool DocumentView::animating() const {
  return session_->attentionRunning() || session_->modelLoading() || session_->rolloutRunning() ||
         session_->tasks()->groupBusy(QStringLiteral("document"));
}

void DocumentView::draw() {
  if (showControls_) {
    if (ImGui::BeginChild("##controls", ImVec2(kPanelWidth, 0), true)) drawControls();
    ImGui::EndChild();
    ImGui::SameLine();
  }
  if (ImGui::BeginChild("##canvas", ImVec2(0, 0), true, ImGuiWindowFlags_NoScrollbar)) {
    if (session_->attention()) drawCanvas();
    else drawEmptyState();
  }
  ImGui::EndChild();
}

void DocumentView::drawEmptyState() {
  geometry_ = {};
  ImGui::Dummy(ImVec2(0, 20));
  ImGui::PushFont(font(FontRole::Title));
  ImGui::TextUnformatted("Real attention on a real document");
  ImGui::PopFont();
  ImGui::PushTextWrapPos(ImGui::GetContentRegionAvail().x * 0.9f);
  label("The loaded model runs on the open document on a worker thread; every layer's attention "
        "probabilities are captured block by block (O(length), never a length² matrix) and drawn here.");
  ImGui::Dummy(ImVec2(0, 8));
  if (session_->modelLoading()) {
    ImGui::TextUnformatted("Loading the model…");
    progressLine(*session_, QStringLiteral("model"));
  } else if (!session_->model()) {
    ImGui::TextUnformatted("No model is loaded.");
    if (!session_->modelError().isEmpty()) {
      ImGui::PushStyleColor(ImGuiCol_Text, theme::kTextError);
      ImGui::TextWrapped("%s", session_->modelError().toUtf8().constData());
      ImGui::PopStyleColor();
    }
    label(("The bundled model lives in " + defaultModelDir().toStdString() +
           ". Load any BigBird checkpoint directory (config.json + model.safetensors) with File > Load Model (Ctrl+L).")
              .c_str());
    if (ImGui::Button("Load the bundled model")) session_->loadModel(defaultModelDir());
  } else if (session_->tasks()->groupBusy(QStringLiteral("document"))) {
    ImGui::TextUnformatted("Tokenizing the document…");
  } else if (!session_->document()) {
    ImGui::TextUnformatted("No document is open.");
    label("Open a text file with File > Open Document (Ctrl+O), or a bundled sample:");
    if (ImGui::Button("Open Pride and Prejudice, chapters 1–6"))
      session_->openDocument(samplesDir() + QStringLiteral("/pride-and-prejudice-ch1-6.txt"));
  } else if (session_->attentionRunning()) {
    ImGui::TextUnformatted("Running the model on the document…");
    progressLine(*session_, QStringLiteral("attention"));
  } else {
    ImGui::TextUnformatted("The attention has not been computed yet.");
    if (ImGui::Button("Run the model (F5)")) session_->runAttention();
  }
  ImGui::PopTextWrapPos();
}

void DocumentView::drawControls() {
  ImGui::PushFont(font(FontRole::Title));
  ImGui::TextUnformatted("Document attention");
  ImGui::PopFont();
  const LabDocument* doc = session_->document();
  const LoadedModel* model = session_->model();
  const AttentionRun* run = session_->attention();
  ImGui::PushTextWrapPos(0.0f);
  sectionHeader("Input");
  if (doc) {
    ImGui::TextUnformatted(doc->label.toUtf8().constData());
    if (doc->truncated())
      label((withCommas(doc->tokens()) + " tokens (cut from " + withCommas(doc->fullLength) + " at the model's limit)").c_str());
    else
      label((withCommas(doc->tokens()) + " tokens").c_str());
  } else {
    label("No document");
  }
  if (model) {
    ImGui::TextUnformatted(("Model: " + model->dir.section(QLatin1Char('/'), -1).toStdString()).c_str());
    const bb::ModelConfig& c = model->config();
    label((std::to_string(c.num_hidden_layers) + " layers · " + std::to_string(c.num_attention_heads) + " heads · hidden " +
           std::to_string(c.hidden_size))
              .c_str());
    label(("block " + std::to_string(c.block_size) + " · r = " + std::to_string(c.num_random_blocks) + " · up to " +
           withCommas(c.max_position_embeddings) + " tokens")
              .c_str());
  } else {
    label("No model");
  }
  if (run) {
    ImGui::PushStyleColor(ImGuiCol_Text, run->decision.fell_back ? theme::kTextWarning : theme::kTextMuted);
    ImGui::TextWrapped("%s", run->decision.reason.c_str());
    ImGui::PopStyleColor();
  }
  ImGui::PopTextWrapPos();

  label("Random blocks");
  const bb::attn::RandomBlocks modes[] = {bb::attn::RandomBlocks::TF, bb::attn::RandomBlocks::HFTrain,
                                          bb::attn::RandomBlocks::HFEval};
  const float w = (ImGui::GetContentRegionAvail().x - ImGui::GetStyle().ItemSpacing.x) / 3.0f;
  for (int i = 0; i < 3; ++i) {
    if (i) ImGui::SameLine(0, ImGui::GetStyle().ItemSpacing.x * 0.5f);
    const bool on = session_->randomBlocks() == modes[i];
    if (on) ImGui::PushStyleColor(ImGuiCol_Button, IM_COL32(62, 98, 150, 255));
    if (ImGui::Button((bb::attn::to_string(modes[i]) + "##rb").c_str(), ImVec2(w, 0))) session_->setRandomBlocks(modes[i]);
    if (on) ImGui::PopStyleColor();
  }
  if (session_->attentionRunning()) progressLine(*session_, QStringLiteral("attention"));
  else if (model && doc && ImGui::Button("Run again (F5)", ImVec2(-FLT_MIN, 0))) session_->runAttention();

  sectionHeader("Show");
  drawSelectionControls(*session_, false);
  drawColourBar(scale_, ImGui::GetContentRegionAvail().x,
                "block cells: mean attention mass of the query block's rows; tokens: probability");

  sectionHeader("Selected token");
  const AttentionSelection& s = session_->selection();
  if (!doc || s.token < 0) {
    label("Click a token in the text or a row of the heatmap.");
    return;
  }
  const std::string text = displayToken(*doc, s.token);
  ImGui::Text("#%lld  %s", static_cast<long long>(s.token), text.c_str());
  if (run) label(("block " + std::to_string(s.token / std::max(1, run->block))).c_str());
  if (session_->rolloutRunning()) label("Computing the rollout…");
  const auto& weights = session_->selectionWeights();
  const auto& top = session_->highlightedTokens();
  if (ImGui::BeginTable("##top", 3, ImGuiTableFlags_SizingStretchProp | ImGuiTableFlags_RowBg)) {
    ImGui::TableSetupColumn("#", ImGuiTableColumnFlags_WidthFixed, 44.0f);
    ImGui::TableSetupColumn("token", ImGuiTableColumnFlags_WidthStretch);
    ImGui::TableSetupColumn("weight", ImGuiTableColumnFlags_WidthFixed, 92.0f);
    for (int64_t t : top) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      if (ImGui::Selectable(std::to_string(t).c_str(), false, ImGuiSelectableFlags_SpanAllColumns)) session_->selectToken(t);
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(displayToken(*doc, t).c_str());
      ImGui::TableNextColumn();
      const float v = weights[size_t(t)];
      const ImVec2 p = ImGui::GetCursorScreenPos();
      const float bar = 40.0f * std::clamp(v / std::max(1e-9f, weights[size_t(top.front())]), 0.0f, 1.0f);
      ImGui::GetWindowDrawList()->AddRectFilled(ImVec2(p.x, p.y + 3), ImVec2(p.x + bar, p.y + ImGui::GetTextLineHeight() - 3),
                                                heatColour(scale_.position(v)));
      ImGui::Dummy(ImVec2(44, 0));
      ImGui::SameLine();
      ImGui::Text("%.3f", double(v));
    }
    ImGui::EndTable();
  }
  if (run) {
    sectionHeader("Capture");
    label(("forward " + std::to_string(int(run->seconds * 1000)) + " ms · captured " +
           withCommas(int64_t(run->captureBytes / 1024)) + " KiB for " + std::to_string(run->layers) + " layers")
              .c_str());
  }
}

void DocumentView::ensureBlockTexture(int layer, int s) {
  const AttentionRun* run = session_->attention();
  if (blockKeyRun_ == run && blockKeyLayer_ == layer && blockKeySel_ == s && !blockTexture_.empty()) return;
  const int nb = run->nb;
  QImage img(nb, nb, QImage::Format_RGBA8888);
  const std::vector<float>& mass = run->blockMass[size_t(layer)][size_t(s)];
  const std::vector<uint8_t>& computed = run->computed[size_t(layer)][size_t(s)];
  const int realBlocks = int((run->realLen + run->block - 1) / run->block);
  for (int q = 0; q < nb; ++q) {
    auto* line = reinterpret_cast<uint32_t*>(img.scanLine(q));
    for (int k = 0; k < nb; ++k) {
      const size_t i = size_t(q) * size_t(nb) + size_t(k);
      line[k] = (!computed[i] || q >= realBlocks || k >= realBlocks) ? notComputedRgba() : heatRgba(scale_.position(mass[i]));
    }
  }
  blockTexture_.setImage(img);
  blockKeyRun_ = run;
  blockKeyLayer_ = layer;
  blockKeySel_ = s;
}

bool DocumentView::ensureTokenTexture(int layer, int s, int qb0, int qb1, int kb0, int kb1) {
  const AttentionRun* run = session_->attention();
  const int key[6] = {layer, s, qb0, qb1, kb0, kb1};
  if (tokenKeyRun_ == run && std::equal(key, key + 6, tokenKey_) && !tokenTexture_.empty()) return true;
  const int b = run->block;
  const int64_t q0 = int64_t(qb0) * b, q1 = int64_t(qb1) * b, k0 = int64_t(kb0) * b, k1 = int64_t(kb1) * b;
  if (q1 - q0 > kMaxTokenTexture || k1 - k0 > kMaxTokenTexture) return false;
  const bb::attn::AttentionMap& m = run->maps[size_t(layer)];
  const int64_t cq1 = std::min(q1, m.query_len), ck1 = std::min(k1, m.key_len);
  std::vector<float> probs(size_t((cq1 - q0) * (ck1 - k0)));
  const AttentionSelection& sel = session_->selection();
  bb::attn::attention_region(m, headSelect(sel), q0, cq1, k0, ck1, probs.data());
  const std::vector<uint8_t>& computed = run->computed[size_t(layer)][size_t(s)];
  QImage img(int(k1 - k0), int(q1 - q0), QImage::Format_RGBA8888);
  for (int64_t q = q0; q < q1; ++q) {
    auto* line = reinterpret_cast<uint32_t*>(img.scanLine(int(q - q0)));
    for (int64_t k = k0; k < k1; ++k) {
      const bool inside = q < cq1 && k < ck1 && q < run->realLen && k < run->realLen &&
                          computed[size_t(q / b) * size_t(run->nb) + size_t(k / b)];
      line[k - k0] = inside ? heatRgba(scale_.position(probs[size_t((q - q0) * (ck1 - k0) + (k - k0))])) : notComputedRgba();
    }
  }
  tokenTexture_.setImage(img);
  tokenKeyRun_ = run;
  std::copy(key, key + 6, tokenKey_);
  return true;
}

void DocumentView::drawCanvas() {
  const AttentionRun* run = session_->attention();
  const LabDocument* doc = session_->document();
  const AttentionSelection& sel = session_->selection();
  const int layer = std::clamp(sel.layer, 0, run->layers - 1);
  const int s = sel.rollout ? run->heads : run->selectionIndex(sel.headMode, std::clamp(sel.head, 0, run->heads - 1));
  const int nb = run->nb, b = run->block;

  ImGui::PushFont(font(FontRole::Bold));
  ImGui::Text("Layer %d  ·  %s", layer,
              s < run->heads ? ("head " + std::to_string(s)).c_str() : (s == run->heads ? "mean of heads" : "max over heads"));
  ImGui::PopFont();
  const float fitW = ImGui::CalcTextSize("Fit").x + ImGui::GetStyle().FramePadding.x * 2.0f;
  const float buttonsX = ImGui::GetWindowContentRegionMax().x - fitW * 3.0f - 12.0f;
  const std::string detail = "  " + std::to_string(nb) + " × " + std::to_string(nb) + " blocks of " + std::to_string(b) +
                             " · query ↓ × key →";
  ImGui::SameLine();
  if (ImGui::GetCursorPosX() + ImGui::CalcTextSize(detail.c_str()).x < buttonsX - 8) label(detail.c_str());
  ImGui::SameLine(buttonsX);
  if (ImGui::Button("-##dz", ImVec2(fitW, 0))) zoom_ = std::max(1.0f, zoom_ / 1.5f);
  ImGui::SameLine(0, 4);
  if (ImGui::Button("Fit##dz")) zoom_ = 1.0f;
  ImGui::SameLine(0, 4);
  if (ImGui::Button("+##dz", ImVec2(fitW, 0))) zoom_ = std::min(256.0f, zoom_ * 1.5f);
  hoverHelp("Ctrl+wheel zooms at the mouse, down to single tokens; drag to pan; click selects the query token.");

  const ImGuiIO& io = ImGui::GetIO();
  const bool fitted = zoom_ <= 1.0f;
  ImGuiWindowFlags flags = fitted ? ImGuiWindowFlags_NoScrollbar : ImGuiWindowFlags_HorizontalScrollbar;
  if (io.KeyCtrl) flags |= ImGuiWindowFlags_NoScrollWithMouse;
  ImGui::PushStyleColor(ImGuiCol_ChildBg, theme::kCanvasBg);
  ImGui::BeginChild("##heat", ImVec2(0, 0), false, flags);
  ImGui::PopStyleColor();
  if (fitted && (ImGui::GetScrollX() != 0.0f || ImGui::GetScrollY() != 0.0f)) {
    ImGui::SetScrollX(0.0f);
    ImGui::SetScrollY(0.0f);
  }
  const ImVec2 viewSize = ImGui::GetWindowSize();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const float margin = 10.0f;
  const float fit = std::max(1.0f, std::min(viewSize.x - kAxisLeft - margin, viewSize.y - kAxisTop - margin)) / float(nb);
  const float maxZoom = std::max(1.0f, 40.0f * float(b) / fit);
  zoom_ = std::clamp(zoom_, 1.0f, maxZoom);
  float cell = fit * zoom_;
  const ImVec2 m = io.MousePos;
  {
    const float gx = origin.x + kAxisLeft, gy = origin.y + kAxisTop;
    if (ImGui::IsWindowHovered() && io.KeyCtrl && io.MouseWheel != 0.0f && m.x >= gx && m.y >= gy) {
      const float nz = std::clamp(zoom_ * std::pow(1.25f, io.MouseWheel), 1.0f, maxZoom);
      const float nc = fit * nz;
      const float u = (m.x - gx) / cell, v = (m.y - gy) / cell;
      ImGui::SetScrollX(ImGui::GetScrollX() + u * (nc - cell));
      ImGui::SetScrollY(ImGui::GetScrollY() + v * (nc - cell));
      zoom_ = nz;
      cell = nc;
    }
  }
  if (pendingScroll_.first >= 0.0f) {
    ImGui::SetScrollX(pendingScroll_.first * cell);
    ImGui::SetScrollY(pendingScroll_.second * cell);
    pendingScroll_ = {-1.0f, -1.0f};
  }
  const float side = cell * float(nb);
  const float x0 = std::floor(origin.x + kAxisLeft), y0 = std::floor(origin.y + kAxisTop);
  ImGui::Dummy(ImVec2(kAxisLeft + side + margin, kAxisTop + side + margin));
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 clipMin = dl->GetClipRectMin(), clipMax = dl->GetClipRectMax();

  // Level of detail: the block texture, or (zoomed in) a token texture of the visible blocks.
  const float tokenPx = cell / float(b);
  const int qb0 = std::clamp(int(std::floor((clipMin.y - y0) / cell)), 0, nb);
  const int qb1 = std::clamp(int(std::ceil((clipMax.y - y0) / cell)), 0, nb);
  const int kb0 = std::clamp(int(std::floor((clipMin.x - x0) / cell)), 0, nb);
  const int kb1 = std::clamp(int(std::ceil((clipMax.x - x0) / cell)), 0, nb);
  bool tokenLevel = false;
  if (tokenPx >= kTokenLevelPx && !sel.rollout && qb1 > qb0 && kb1 > kb0)
    tokenLevel = ensureTokenTexture(layer, s, qb0, qb1, kb0, kb1);
  if (tokenLevel) {
    dl->AddImage(tokenTexture_.id(), ImVec2(x0 + float(kb0) * cell, y0 + float(qb0) * cell),
                 ImVec2(x0 + float(kb1) * cell, y0 + float(qb1) * cell));
  } else {
    ensureBlockTexture(layer, s);
    dl->AddImage(blockTexture_.id(), ImVec2(x0, y0), ImVec2(x0 + side, y0 + side));
  }
  geometry_ = {x0, y0, cell, nb, b, tokenLevel};
  if (cell >= 8.0f)
    for (int i = std::max(kb0, 0); i <= kb1; ++i)
      dl->AddLine(ImVec2(x0 + float(i) * cell, y0 + float(qb0) * cell), ImVec2(x0 + float(i) * cell, y0 + float(qb1) * cell),
                  IM_COL32(20, 22, 26, 110));
  if (cell >= 8.0f)
    for (int i = std::max(qb0, 0); i <= qb1; ++i)
      dl->AddLine(ImVec2(x0 + float(kb0) * cell, y0 + float(i) * cell), ImVec2(x0 + float(kb1) * cell, y0 + float(i) * cell),
                  IM_COL32(20, 22, 26, 110));

  // Axis labels (block numbers), sticky at the top/left edges.
  {
    int step = 1;
    while (float(step) * cell < 36.0f && step < nb) step *= 2;
    const float lineH = ImGui::GetTextLineHeight();
    const float topY = std::max(y0 - lineH - 4.0f, clipMin.y + 2.0f);
    const float leftX = std::max(x0 - 6.0f, clipMin.x + kAxisLeft - 6.0f);
    if (topY > y0 - lineH - 4.0f) dl->AddRectFilled(clipMin, ImVec2(clipMax.x, topY + lineH + 3.0f), theme::kCanvasBg);
    if (leftX > x0 - 6.0f) dl->AddRectFilled(clipMin, ImVec2(leftX + 4.0f, clipMax.y), theme::kCanvasBg);
    char buf[16];
    for (int k = 0; k < nb; k += step) {
      if (k + 1 < kb0 || k > kb1) continue;
      std::snprintf(buf, sizeof buf, "%d", k);
      const float x = std::round(x0 + (float(k) + 0.5f) * cell - ImGui::CalcTextSize(buf).x * 0.5f);
      if (x > leftX) dl->AddText(ImVec2(x, topY), theme::kTextMuted, buf);
    }
    for (int q = 0; q < nb; q += step) {
      if (q + 1 < qb0 || q > qb1) continue;
      std::snprintf(buf, sizeof buf, "%d", q);
      const float y = std::round(y0 + (float(q) + 0.5f) * cell - lineH * 0.5f);
      if (y > topY + lineH) dl->AddText(ImVec2(leftX - ImGui::CalcTextSize(buf).x, y), theme::kTextMuted, buf);
    }
  }

  // The selected token: its row (attends to) or column (attended by), and its top-k.
  if (sel.token >= 0 && sel.token < run->realLen) {
    const float pos = float(sel.token) * tokenPx;
    const ImU32 c = theme::kSelection;
    if (sel.direction == AttentionSelection::AttendsTo) {
      dl->AddRect(ImVec2(x0 - 2, y0 + pos - 1), ImVec2(x0 + side + 2, y0 + pos + std::max(1.0f, tokenPx) + 1), c, 0, 0, 1.5f);
      for (int64_t t : session_->highlightedTokens())
        dl->AddTriangleFilled(ImVec2(x0 + float(t) * tokenPx, y0 - 2), ImVec2(x0 + float(t) * tokenPx - 4, y0 - 9),
                              ImVec2(x0 + float(t) * tokenPx + 4, y0 - 9), theme::kAccent);
    } else {
      dl->AddRect(ImVec2(x0 + pos - 1, y0 - 2), ImVec2(x0 + pos + std::max(1.0f, tokenPx) + 1, y0 + side + 2), c, 0, 0, 1.5f);
      for (int64_t t : session_->highlightedTokens())
        dl->AddTriangleFilled(ImVec2(x0 - 2, y0 + float(t) * tokenPx), ImVec2(x0 - 9, y0 + float(t) * tokenPx - 4),
                              ImVec2(x0 - 9, y0 + float(t) * tokenPx + 4), theme::kAccent);
    }
  }

  // Hover: the block pair (or token pair) and its value; click selects the query token.
  if (ImGui::IsWindowHovered() && m.x >= x0 && m.y >= y0 && m.x < x0 + side && m.y < y0 + side) {
    const int64_t qt = std::min<int64_t>(int64_t((m.y - y0) / tokenPx), int64_t(nb) * b - 1);
    const int64_t kt = std::min<int64_t>(int64_t((m.x - x0) / tokenPx), int64_t(nb) * b - 1);
    const int q = int(qt / b), k = int(kt / b);
    const size_t i = size_t(q) * size_t(nb) + size_t(k);
    dl->AddRect(ImVec2(x0 + float(k) * cell, y0 + float(q) * cell), ImVec2(x0 + float(k + 1) * cell, y0 + float(q + 1) * cell),
                IM_COL32(255, 255, 255, 200), 0, 0, 1.5f);
    ImGui::BeginTooltip();
    ImGui::PushFont(font(FontRole::Bold));
    ImGui::Text("Query block %d → key block %d", q, k);
    ImGui::PopFont();
    if (!run->computed[size_t(layer)][size_t(s)][i]) {
      label("Not computed by the sparse pattern (probability 0).");
    } else {
      ImGui::Text("attention mass %.4f", double(run->blockMass[size_t(layer)][size_t(s)][i]));
      label("mean over the block's query rows of the probability summed over its key tokens");
    }
    if (tokenPx >= 4.0f && qt < run->realLen && kt < run->realLen) {
      ImGui::Separator();
      std::vector<float> p(1);
      bb::attn::attention_region(run->maps[size_t(layer)], headSelect(sel), qt, qt + 1, kt, kt + 1, p.data());
      ImGui::Text("token %lld %s → token %lld %s: p = %.4f", static_cast<long long>(qt), displayToken(*doc, qt).c_str(),
                  static_cast<long long>(kt), displayToken(*doc, kt).c_str(), double(p[0]));
    }
    ImGui::EndTooltip();
    if (ImGui::IsMouseReleased(ImGuiMouseButton_Left) && ImGui::GetIO().MouseDragMaxDistanceSqr[0] < 16.0f &&
        qt < run->realLen)
      session_->selectToken(qt);
  }
  if (!fitted && ImGui::IsWindowHovered() &&
      (ImGui::IsMouseDragging(ImGuiMouseButton_Left, 4.0f) || ImGui::IsMouseDragging(ImGuiMouseButton_Middle, 2.0f))) {
    ImGui::SetScrollX(ImGui::GetScrollX() - io.MouseDelta.x);
    ImGui::SetScrollY(ImGui::GetScrollY() - io.MouseDelta.y);
  }
  ImGui::EndChild();
}

std::string DocumentView::exportCsv() const {
  const AttentionRun* run = session_->attention();
  if (!run) return {};
  const AttentionSelection& sel = session_->selection();
  const int s = run->selectionIndex(sel.headMode, sel.head);
  std::string out = "layer,heads,query_block,key_block,computed,attention_mass\n";
  const std::string heads = s < run->heads ? std::to_string(s) : (s == run->heads ? "mean" : "max");
  char buf[32];
  for (int q = 0; q < run->nb; ++q)
    for (int k = 0; k < run->nb; ++k) {
      const size_t i = size_t(q) * size_t(run->nb) + size_t(k);
      std::snprintf(buf, sizeof buf, "%.6g", double(run->blockMass[size_t(sel.layer)][size_t(s)][i]));
      out += std::to_string(sel.layer) + "," + heads + "," + std::to_string(q) + "," + std::to_string(k) + "," +
             (run->computed[size_t(sel.layer)][size_t(s)][i] ? "1" : "0") + "," + buf + "\n";
    }
  return out;
}

std::string DocumentView::exportJson() const {
  const AttentionRun* run = session_->attention();
  const LabDocument* doc = session_->document();
  if (!run || !doc) return {};
  const AttentionSelection& sel = session_->selection();
  std::string out = "{\n  \"view\": \"document-attention\",\n";
  out += "  \"document\": " + jsonString(doc->label.toStdString()) + ", \"tokens\": " + std::to_string(run->realLen) + ",\n";
  out += "  \"attention_type\": " + jsonString(bb::attn::to_string(run->decision.type)) + ", \"random_blocks\": " +
         jsonString(bb::attn::to_string(run->mode)) + ", \"block\": " + std::to_string(run->block) +
         ", \"layers\": " + std::to_string(run->layers) + ", \"heads\": " + std::to_string(run->heads) + ",\n";
  out += "  \"selection\": {\"token\": " + std::to_string(sel.token) + ", \"layer\": " + std::to_string(sel.layer) +
         ", \"heads\": " +
         jsonString(sel.headMode == HeadMode::One ? std::to_string(sel.head) : (sel.headMode == HeadMode::Mean ? "mean" : "max")) +
         ", \"direction\": " + jsonString(sel.direction == AttentionSelection::AttendsTo ? "attends_to" : "attended_by") +
         ", \"rollout\": " + (sel.rollout ? "true" : "false") + "},\n";
  out += "  \"top_k\": [";
  const auto& w = session_->selectionWeights();
  char buf[32];
  bool first = true;
  for (int64_t t : session_->highlightedTokens()) {
    std::snprintf(buf, sizeof buf, "%.6g", double(w[size_t(t)]));
    out += std::string(first ? "\n" : ",\n") + "    {\"token\": " + std::to_string(t) + ", \"text\": " +
           jsonString(doc->tokenText(t)) + ", \"weight\": " + buf + "}";
    first = false;
  }
  out += first ? "]\n}\n" : "\n  ]\n}\n";
  return out;
}

}  // namespace bb::ui
