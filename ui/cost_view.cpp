#include "ui/cost_view.h"

#include <imgui.h>

#include <QElapsedTimer>
#include <algorithm>
#include <cfloat>
#include <cmath>

#include "engine/attention/plan.h"
#include "engine/core/error.h"
#include "engine/models/bigbird_model.h"
#include "engine/models/cost_model.h"
#include "engine/models/random_weights.h"
#include "ui/imgui_helpers.h"
#include "ui/imgui_style.h"
#include "ui/lab_session.h"
#include "ui/task_manager.h"
#include "ui/text_utils.h"

namespace bb::ui {

namespace {

constexpr int64_t kMeasureLengths[] = {512, 1024, 2048, 4096};
constexpr ImU32 kFullColour = IM_COL32(230, 110, 90, 255);
constexpr ImU32 kSparseColour = IM_COL32(96, 170, 240, 255);

bb::ModelConfig modelFor(const CostConfig& c, int64_t maxLen) {
  bb::ModelConfig m;
  m.vocab_size = 512;
  m.hidden_size = c.hidden;
  m.num_hidden_layers = c.layers;
  m.num_attention_heads = c.heads;
  m.intermediate_size = c.intermediate;
  m.block_size = c.block;
  m.num_random_blocks = c.random;
  m.max_position_embeddings = std::max<int64_t>(maxLen, 4096);
  return m;
}

}  // namespace

CostRow computeCostRow(const CostConfig& c, int64_t length) {
  CostRow r;
  r.length = length;
  const bb::attn::AttentionDecision d =
      bb::attn::decide_attention(bb::attn::AttentionType::BlockSparse, length, c.block, c.random, bb::attn::RandomBlocks::HFTrain);
  r.fellBack = d.type == bb::attn::AttentionType::OriginalFull;
  r.nb = (length + c.block - 1) / c.block;
  const bb::ModelConfig m = modelFor(c, length);
  const bb::ForwardCost full = bb::encoder_forward_cost(m, length, false);
  const bb::ForwardCost sparse = r.fellBack ? full : bb::encoder_forward_cost(m, d.padded_len, true);
  r.pairsFull = r.nb * r.nb;
  r.pairsSparse = r.fellBack ? r.pairsFull : sparse.scores_per_head / (int64_t(c.block) * c.block);
  r.flopsFull = full.total_flops();
  r.flopsSparse = sparse.total_flops();
  r.attnFlopsFull = full.attention_flops;
  r.attnFlopsSparse = sparse.attention_flops;
  r.scoreBytesFull = double(full.scores_per_head) * c.heads * 4.0;
  r.scoreBytesSparse = double(sparse.scores_per_head) * c.heads * 4.0;
  return r;
}

CostView::CostView(LabSession* session) : session_(session) {}

bool CostView::animating() const { return session_ && session_->tasks()->groupBusy(QStringLiteral("measure")); }

void CostView::setConfig(const CostConfig& c) {
  CostConfig k = c;
  k.length = std::clamp<int64_t>(k.length, 16, 65536);
  k.block = std::clamp(k.block, 2, 512);
  k.random = std::clamp(k.random, 0, 16);
  k.heads = std::clamp(k.heads, 1, 64);
  k.hidden = std::max<int64_t>(k.heads, k.hidden / k.heads * k.heads);
  k.layers = std::clamp(k.layers, 1, 96);
  k.intermediate = std::clamp<int64_t>(k.intermediate, 1, 65536);
  config_ = k;
}

std::vector<int64_t> CostView::plotLengths() const {
  std::vector<int64_t> out;
  for (double l = 256; l <= 16384.0 * 1.001; l *= std::pow(2.0, 0.125)) {
    const int64_t v = std::max<int64_t>(config_.block, int64_t(std::lround(l / config_.block)) * config_.block);
    if (out.empty() || v > out.back()) out.push_back(v);
  }
  return out;
}

void CostView::draw() {
  const float inputsW = 330.0f;
  if (ImGui::BeginChild("##inputs", ImVec2(inputsW, 0), true)) drawInputs();
  ImGui::EndChild();
  ImGui::SameLine();
  if (ImGui::BeginChild("##results", ImVec2(0, 0), true)) {
    drawTable();
    drawPlot(std::max(200.0f, ImGui::GetContentRegionAvail().y - 8));
  }
  ImGui::EndChild();
}

void CostView::drawInputs() {
  ImGui::PushFont(font(FontRole::Title));
  ImGui::TextUnformatted("Cost calculator");
  ImGui::PopFont();
  ImGui::PushStyleColor(ImGuiCol_Text, theme::kTextMuted);
  ImGui::TextWrapped("What full and block-sparse attention cost for one input, counted analytically, next to "
                     "what this machine's engine measures.");
  ImGui::PopStyleColor();
  CostConfig c = config_;
  auto row = [](const char* name) {
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    ImGui::AlignTextToFramePadding();
    label(name);
    ImGui::TableNextColumn();
    ImGui::SetNextItemWidth(-FLT_MIN);
  };
  sectionHeader("Input");
  if (ImGui::BeginTable("##in", 2, ImGuiTableFlags_SizingStretchProp)) {
    ImGui::TableSetupColumn("l", ImGuiTableColumnFlags_WidthFixed, 96.0f);
    ImGui::TableSetupColumn("c", ImGuiTableColumnFlags_WidthStretch);
    int len = int(c.length), block = c.block;
    row("Length");
    if (ImGui::SliderInt("##len", &len, 256, 16384, "%d tokens", ImGuiSliderFlags_Logarithmic)) c.length = len;
    row("Block b");
    if (ImGui::SliderInt("##block", &block, 8, 256, "%d", ImGuiSliderFlags_Logarithmic)) c.block = block;
    row("Random r");
    ImGui::SliderInt("##r", &c.random, 0, 8);
    ImGui::EndTable();
  }
  sectionHeader("Model shape");
  if (ImGui::BeginTable("##shape", 2, ImGuiTableFlags_SizingStretchProp)) {
    ImGui::TableSetupColumn("l", ImGuiTableColumnFlags_WidthFixed, 96.0f);
    ImGui::TableSetupColumn("c", ImGuiTableColumnFlags_WidthStretch);
    int hidden = int(c.hidden), inter = int(c.intermediate);
    row("Heads");
    ImGui::SliderInt("##heads", &c.heads, 1, 32);
    row("Hidden");
    if (ImGui::SliderInt("##hidden", &hidden, 64, 2048, "%d", ImGuiSliderFlags_Logarithmic)) c.hidden = hidden;
    row("Layers");
    ImGui::SliderInt("##layers", &c.layers, 1, 48);
    row("FFN size");
    if (ImGui::SliderInt("##inter", &inter, 128, 8192, "%d", ImGuiSliderFlags_Logarithmic)) c.intermediate = inter;
    ImGui::EndTable();
  }
  const float bw = (ImGui::GetContentRegionAvail().x - ImGui::GetStyle().ItemSpacing.x) / 2.0f;
  if (ImGui::Button("BigBird base", ImVec2(bw, 0))) c = CostConfig{c.length, 64, 3, 12, 768, 12, 3072};
  ImGui::SameLine();
  if (ImGui::Button("BigBird large", ImVec2(bw, 0))) c = CostConfig{c.length, 64, 3, 16, 1024, 24, 4096};
  if (session_ && session_->model()) {
    if (ImGui::Button("Shape of the loaded model", ImVec2(-FLT_MIN, 0))) {
      const bb::ModelConfig& m = session_->model()->config();
      c = CostConfig{c.length, m.block_size, m.num_random_blocks, m.num_attention_heads, m.hidden_size,
                     m.num_hidden_layers, m.intermediate_size};
    }
  }
  if (!(c == config_)) setConfig(c);

  sectionHeader("Measured on this machine");
  ImGui::PushStyleColor(ImGuiCol_Text, theme::kTextMuted);
  ImGui::TextWrapped("One encoder layer of this shape with random weights, best of 2 runs per length (512–4096), "
                     "both attention types, on the engine's worker thread.");
  ImGui::PopStyleColor();
  if (!session_) return;
  if (session_->tasks()->groupBusy(QStringLiteral("measure"))) {
    const TaskManager::Status st = session_->tasks()->status();
    ImGui::ProgressBar(float(st.group == QStringLiteral("measure") ? st.progress : 0.0), ImVec2(-FLT_MIN, 0),
                       st.detail.toUtf8().constData());
    if (ImGui::Button("Cancel##measure")) session_->tasks()->cancelGroup(QStringLiteral("measure"));
  } else if (ImGui::Button("Measure (F7)", ImVec2(-FLT_MIN, 0))) {
    measure();
  }
  if (!measureError_.isEmpty()) {
    ImGui::PushStyleColor(ImGuiCol_Text, theme::kTextError);
    ImGui::TextWrapped("%s", measureError_.toUtf8().constData());
    ImGui::PopStyleColor();
  }
  if (!measured_.empty() && !(measuredFor_ == config_)) label("(measured for an earlier shape)");
}

void CostView::measure() {
  if (!session_) return;
  measureError_.clear();
  const CostConfig c = config_;
  auto alive = std::weak_ptr<bool>(measureAlive_);
  session_->tasks()->submit(QStringLiteral("measure"), QStringLiteral("Measuring the engine"), [this, c, alive](TaskContext& ctx) {
    bb::ModelConfig m = modelFor(c, 4096);
    m.num_hidden_layers = 1;
    ctx.setProgress(0.02, QStringLiteral("random weights"));
    const bb::BigBirdModel model(m, bb::random_bigbird_mlm_parameters(m, 7));
    auto results = std::make_shared<std::vector<CostMeasurement>>();
    const int total = int(std::size(kMeasureLengths)) * 2 * 2;
    int done = 0;
    for (int64_t len : kMeasureLengths) {
      CostMeasurement r;
      r.length = len;
      bb::EncoderInputs in;
      in.input_ids = bb::I64Tensor({1, len});
      for (int64_t i = 0; i < len; ++i) in.input_ids[i] = 5 + (i * 31) % 500;
      for (int full = 0; full < 2; ++full) {
        double best = 1e30;
        for (int rep = 0; rep < 2; ++rep) {
          ctx.checkCancelled();
          ctx.setProgress(0.05 + 0.95 * double(done) / total,
                          QStringLiteral("%1 tokens, %2").arg(len).arg(full ? "original_full" : "block_sparse"));
          bb::EncoderOptions opt;
          opt.attention_type = full ? bb::attn::AttentionType::OriginalFull : bb::attn::AttentionType::BlockSparse;
          opt.on_layer_done = [&ctx](int, int, std::vector<bb::attn::AttentionMap>*) { ctx.checkCancelled(); };
          QElapsedTimer t;
          t.start();
          const bb::EncoderOutputs out = model.forward(in, opt);
          best = std::min(best, double(t.nsecsElapsed()) * 1e-6);
          if (!full) r.sparseFellBack = out.decision.fell_back;
          ++done;
        }
        (full ? r.msFull : r.msSparse) = best;
      }
      results->push_back(r);
    }
    return TaskManager::Finish([this, results, c, alive] {
      if (alive.expired()) return;
      measured_ = *results;
      measuredFor_ = c;
    });
  });
}

void CostView::drawTable() {
  const CostRow r = computeCostRow(config_, config_.length);
  ImGui::PushFont(font(FontRole::Bold));
  ImGui::Text("%s tokens  ·  %lld blocks of %d  ·  r = %d", withCommas(config_.length).c_str(),
              static_cast<long long>(r.nb), config_.block, config_.random);
  ImGui::PopFont();
  if (r.fellBack) {
    ImGui::SameLine();
    ImGui::PushStyleColor(ImGuiCol_Text, theme::kTextWarning);
    ImGui::Text("  block_sparse falls back to full attention here (length ≤ (5 + 2r)·b = %d)",
                (5 + 2 * config_.random) * config_.block);
    ImGui::PopStyleColor();
  }
  const CostMeasurement* meas = nullptr;
  for (const CostMeasurement& m : measured_)
    if (m.length == config_.length && measuredFor_ == config_) meas = &m;
  if (ImGui::BeginTable("##cost", 4, ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH | ImGuiTableFlags_SizingStretchProp)) {
    ImGui::TableSetupColumn("per head and layer / per forward", ImGuiTableColumnFlags_WidthStretch, 1.6f);
    ImGui::TableSetupColumn("full attention", ImGuiTableColumnFlags_WidthStretch, 1.0f);
    ImGui::TableSetupColumn("block sparse", ImGuiTableColumnFlags_WidthStretch, 1.0f);
    ImGui::TableSetupColumn("sparse / full", ImGuiTableColumnFlags_WidthStretch, 0.7f);
    ImGui::TableHeadersRow();
    auto line = [](const char* name, const std::string& a, const std::string& b, double ratio, const char* help) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(name);
      hoverHelp(help);
      ImGui::TableNextColumn();
      ImGui::PushStyleColor(ImGuiCol_Text, kFullColour);
      ImGui::TextUnformatted(a.c_str());
      ImGui::PopStyleColor();
      ImGui::TableNextColumn();
      ImGui::PushStyleColor(ImGuiCol_Text, kSparseColour);
      ImGui::TextUnformatted(b.c_str());
      ImGui::PopStyleColor();
      ImGui::TableNextColumn();
      if (ratio > 0) label((formatNumber(100.0 * ratio, 3) + " %").c_str());
    };
    line("Attended block pairs", withCommas(r.pairsFull), withCommas(r.pairsSparse), double(r.pairsSparse) / double(r.pairsFull),
         "Query-block × key-block score tiles per head and layer (nb² for full attention; repeats counted for sparse).");
    line("Attention FLOPs (Q·Kᵀ, P·V)", formatFlops(r.attnFlopsFull), formatFlops(r.attnFlopsSparse),
         r.attnFlopsSparse / r.attnFlopsFull, "All layers and heads; a multiply-add counts 2.");
    line("Forward FLOPs (all layers)", formatFlops(r.flopsFull), formatFlops(r.flopsSparse), r.flopsSparse / r.flopsFull,
         "Projections, attention and FFN of the encoder (embeddings and heads excluded).");
    line("Score memory per layer (fp32)", formatBytes(r.scoreBytesFull), formatBytes(r.scoreBytesSparse),
         r.scoreBytesSparse / r.scoreBytesFull, "Attention scores of all heads of one layer if kept at once.");
    if (meas)
      line("Measured: one layer", formatNumber(meas->msFull, 3) + " ms", formatNumber(meas->msSparse, 3) + " ms",
           meas->msSparse / meas->msFull, "This machine's engine, one layer of this shape, best of 2.");
    else
      line("Measured: one layer", "–", "–", 0,
           measured_.empty() ? "Press Measure to time the engine." : "Measured at 512, 1024, 2048 and 4096 tokens only.");
    ImGui::EndTable();
  }
}

void CostView::drawPlot(float height) {
  const char* metrics[] = {"attention FLOPs", "forward FLOPs", "score memory / layer", "measured time / layer"};
  for (int i = 0; i < 4; ++i) {
    if (i) ImGui::SameLine();
    if (ImGui::RadioButton(metrics[i], metric_ == i)) metric_ = i;
  }
  ImGui::SameLine(0, 24);
  ImGui::Checkbox("log scale", &logY_);

  const ImVec2 p = ImGui::GetCursorScreenPos();
  const float w = ImGui::GetContentRegionAvail().x, h = std::max(160.0f, height - ImGui::GetFrameHeightWithSpacing());
  ImGui::Dummy(ImVec2(w, h));
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const float left = 70, right = 16, top = 12, bottom = 36;
  const ImVec2 a(p.x + left, p.y + top), b(p.x + w - right, p.y + h - bottom);
  dl->AddRectFilled(ImVec2(p.x, p.y), ImVec2(p.x + w, p.y + h), theme::kCanvasBg, 6.0f);

  struct Series {
    std::vector<std::pair<double, double>> pts;
    ImU32 col;
    const char* name;
  };
  std::vector<Series> series(2);
  series[0] = {{}, kFullColour, "full attention (quadratic)"};
  series[1] = {{}, kSparseColour, "block sparse (linear)"};
  auto value = [&](const CostRow& r, bool full) {
    switch (metric_) {
      case 0: return full ? r.attnFlopsFull : r.attnFlopsSparse;
      case 1: return full ? r.flopsFull : r.flopsSparse;
      default: return full ? r.scoreBytesFull : r.scoreBytesSparse;
    }
  };
  if (metric_ < 3) {
    for (int64_t len : plotLengths()) {
      const CostRow r = computeCostRow(config_, len);
      series[0].pts.push_back({double(len), value(r, true)});
      series[1].pts.push_back({double(len), value(r, false)});
    }
  } else {
    for (const CostMeasurement& m : measured_) {
      series[0].pts.push_back({double(m.length), m.msFull});
      series[1].pts.push_back({double(m.length), m.msSparse});
    }
  }
  double ymin = 1e300, ymax = 0;
  for (const Series& s : series)
    for (auto [x, y] : s.pts) {
      if (y > 0) ymin = std::min(ymin, y);
      ymax = std::max(ymax, y);
    }
  if (series[0].pts.empty() || ymax <= 0) {
    const char* msg = metric_ == 3 ? "No measurements yet: press Measure." : "Nothing to plot.";
    dl->AddText(ImVec2(a.x + 10, a.y + 10), theme::kTextMuted, msg);
    return;
  }
  const double xmin = 256, xmax = 16384;
  if (logY_) {
    ymin = std::pow(10.0, std::floor(std::log10(ymin)));
    ymax = std::pow(10.0, std::ceil(std::log10(ymax)));
  } else {
    ymin = 0;
    ymax *= 1.05;
  }
  auto X = [&](double x) { return a.x + float((std::log2(x) - std::log2(xmin)) / (std::log2(xmax) - std::log2(xmin))) * (b.x - a.x); };
  auto Y = [&](double y) {
    const double t = logY_ ? (std::log10(std::max(y, ymin)) - std::log10(ymin)) / (std::log10(ymax) - std::log10(ymin))
                           : (y - ymin) / (ymax - ymin);
    return b.y - float(t) * (b.y - a.y);
  };
  auto fmt = [&](double v) {
    if (metric_ == 2) return formatBytes(v);
    if (metric_ == 3) return formatNumber(v, 3) + " ms";
    return formatFlops(v);
  };
  // Grid and axes.
  for (double x = xmin; x <= xmax * 1.001; x *= 2) {
    dl->AddLine(ImVec2(X(x), a.y), ImVec2(X(x), b.y), IM_COL32(255, 255, 255, 18));
    const std::string t = withCommas(int64_t(x));
    dl->AddText(ImVec2(X(x) - ImGui::CalcTextSize(t.c_str()).x * 0.5f, b.y + 4), theme::kTextMuted, t.c_str());
  }
  dl->AddText(ImVec2((a.x + b.x) * 0.5f - 30, b.y + 4 + ImGui::GetTextLineHeight()), theme::kTextMuted, "length (tokens)");
  if (logY_) {
    for (double y = ymin; y <= ymax * 1.001; y *= 10) {
      dl->AddLine(ImVec2(a.x, Y(y)), ImVec2(b.x, Y(y)), IM_COL32(255, 255, 255, 18));
      const std::string t = fmt(y);
      dl->AddText(ImVec2(a.x - 6 - ImGui::CalcTextSize(t.c_str()).x, Y(y) - 7), theme::kTextMuted, t.c_str());
    }
  } else {
    for (int i = 0; i <= 4; ++i) {
      const double y = ymin + (ymax - ymin) * i / 4;
      dl->AddLine(ImVec2(a.x, Y(y)), ImVec2(b.x, Y(y)), IM_COL32(255, 255, 255, 18));
      const std::string t = fmt(y);
      dl->AddText(ImVec2(a.x - 6 - ImGui::CalcTextSize(t.c_str()).x, Y(y) - 7), theme::kTextMuted, t.c_str());
    }
  }
  // Below (5 + 2r)·b tokens block_sparse falls back to full attention: the curves meet there.
  const double threshold = double((5 + 2 * config_.random) * config_.block);
  if (metric_ < 3 && threshold > xmin && threshold < xmax) {
    const float tx = X(threshold);
    for (float y = a.y; y < b.y; y += 6) dl->AddLine(ImVec2(tx, y), ImVec2(tx, std::min(b.y, y + 3)), IM_COL32(255, 196, 92, 120));
    const std::string t = "full below " + withCommas(int64_t(threshold));
    dl->AddText(ImVec2(tx + 4, b.y - ImGui::GetTextLineHeight() - 4), IM_COL32(255, 196, 92, 200), t.c_str());
  }
  // The current length.
  if (double(config_.length) >= xmin && double(config_.length) <= xmax)
    dl->AddLine(ImVec2(X(double(config_.length)), a.y), ImVec2(X(double(config_.length)), b.y), IM_COL32(255, 255, 255, 90), 1.0f);
  for (const Series& s : series) {
    for (size_t i = 1; i < s.pts.size(); ++i)
      dl->AddLine(ImVec2(X(s.pts[i - 1].first), Y(s.pts[i - 1].second)), ImVec2(X(s.pts[i].first), Y(s.pts[i].second)), s.col, 2.0f);
    if (metric_ == 3)
      for (auto [x, y] : s.pts) dl->AddCircleFilled(ImVec2(X(x), Y(y)), 4.0f, s.col);
  }
  float ly = a.y + 6;
  for (const Series& s : series) {
    dl->AddRectFilled(ImVec2(a.x + 12, ly + 5), ImVec2(a.x + 30, ly + 8), s.col);
    dl->AddText(ImVec2(a.x + 36, ly), IM_COL32(222, 226, 232, 255), s.name);
    ly += ImGui::GetTextLineHeight() + 4;
  }
  // Hover: the values at the nearest plotted length.
  const ImVec2 m = ImGui::GetIO().MousePos;
  if (ImGui::IsWindowHovered() && m.x >= a.x && m.x <= b.x && m.y >= a.y && m.y <= b.y && !series[0].pts.empty()) {
    size_t best = 0;
    for (size_t i = 0; i < series[0].pts.size(); ++i)
      if (std::fabs(X(series[0].pts[i].first) - m.x) < std::fabs(X(series[0].pts[best].first) - m.x)) best = i;
    ImGui::BeginTooltip();
    ImGui::Text("%s tokens", withCommas(int64_t(series[0].pts[best].first)).c_str());
    ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(kFullColour), "full: %s", fmt(series[0].pts[best].second).c_str());
    ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(kSparseColour), "sparse: %s", fmt(series[1].pts[best].second).c_str());
    ImGui::EndTooltip();
  }
}

std::string CostView::exportCsv() const {
  std::string out =
      "length,num_blocks,sparse_falls_back,block_pairs_full,block_pairs_sparse,attention_flops_full,attention_flops_sparse,"
      "forward_flops_full,forward_flops_sparse,score_bytes_per_layer_full,score_bytes_per_layer_sparse,measured_ms_full,"
      "measured_ms_sparse\n";
  std::vector<int64_t> lengths = plotLengths();
  lengths.push_back(config_.length);
  for (const CostMeasurement& m : measured_) lengths.push_back(m.length);
  std::sort(lengths.begin(), lengths.end());
  lengths.erase(std::unique(lengths.begin(), lengths.end()), lengths.end());
  for (int64_t len : lengths) {
    const CostRow r = computeCostRow(config_, len);
    std::string mf, ms;
    for (const CostMeasurement& m : measured_)
      if (m.length == len && measuredFor_ == config_) mf = formatNumber(m.msFull, 6), ms = formatNumber(m.msSparse, 6);
    out += std::to_string(len) + "," + std::to_string(r.nb) + "," + (r.fellBack ? "1" : "0") + "," + std::to_string(r.pairsFull) +
           "," + std::to_string(r.pairsSparse) + "," + formatNumber(r.attnFlopsFull, 8) + "," + formatNumber(r.attnFlopsSparse, 8) +
           "," + formatNumber(r.flopsFull, 8) + "," + formatNumber(r.flopsSparse, 8) + "," + formatNumber(r.scoreBytesFull, 8) +
           "," + formatNumber(r.scoreBytesSparse, 8) + "," + mf + "," + ms + "\n";
  }
  return out;
}

std::string CostView::exportJson() const {
  const CostRow r = computeCostRow(config_, config_.length);
  std::string out = "{\n  \"view\": \"cost\",\n";
  out += "  \"config\": {\"length\": " + std::to_string(config_.length) + ", \"block\": " + std::to_string(config_.block) +
         ", \"num_random_blocks\": " + std::to_string(config_.random) + ", \"heads\": " + std::to_string(config_.heads) +
         ", \"hidden\": " + std::to_string(config_.hidden) + ", \"layers\": " + std::to_string(config_.layers) +
         ", \"intermediate\": " + std::to_string(config_.intermediate) + "},\n";
  out += "  \"sparse_falls_back\": " + std::string(r.fellBack ? "true" : "false") + ",\n";
  out += "  \"block_pairs\": {\"full\": " + std::to_string(r.pairsFull) + ", \"sparse\": " + std::to_string(r.pairsSparse) + "},\n";
  out += "  \"attention_flops\": {\"full\": " + formatNumber(r.attnFlopsFull, 10) + ", \"sparse\": " +
         formatNumber(r.attnFlopsSparse, 10) + "},\n";
  out += "  \"forward_flops\": {\"full\": " + formatNumber(r.flopsFull, 10) + ", \"sparse\": " + formatNumber(r.flopsSparse, 10) + "},\n";
  out += "  \"score_bytes_per_layer\": {\"full\": " + formatNumber(r.scoreBytesFull, 10) + ", \"sparse\": " +
         formatNumber(r.scoreBytesSparse, 10) + "},\n";
  out += "  \"measured_one_layer_ms\": [";
  for (size_t i = 0; i < measured_.size(); ++i)
    out += std::string(i ? ", " : "") + "{\"length\": " + std::to_string(measured_[i].length) + ", \"full\": " +
           formatNumber(measured_[i].msFull, 6) + ", \"sparse\": " + formatNumber(measured_[i].msSparse, 6) +
           ", \"sparse_fell_back\": " + (measured_[i].sparseFellBack ? "true" : "false") + "}";
  out += "]\n}\n";
  return out;
}

}  // namespace bb::ui
