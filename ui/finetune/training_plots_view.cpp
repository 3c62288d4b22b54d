#include "ui/finetune/training_plots_view.h"

#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "ui/imgui_style.h"

namespace bb::ui {

namespace {

struct Line {
  const std::vector<SeriesPoint>* points;
  ImU32 colour;
  std::string name;
};

const ImU32 kPalette[] = {IM_COL32(96, 150, 220, 255), IM_COL32(240, 150, 60, 255), IM_COL32(110, 200, 120, 255),
                          IM_COL32(220, 90, 90, 255), IM_COL32(180, 130, 220, 255)};

std::string axisLabel(double v) {
  char buf[32];
  const double a = std::fabs(v);
  if (a != 0 && (a < 1e-2 || a >= 1e5))
    std::snprintf(buf, sizeof buf, "%.2g", v);
  else
    std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

// One plot in the rectangle [p, p + size); returns the number of points drawn.
int drawPlot(const char* title, const std::vector<Line>& lines, double maxStep, ImVec2 p, ImVec2 size) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->AddRectFilled(p, ImVec2(p.x + size.x, p.y + size.y), theme::kCanvasBg, 6.0f);
  const float left = 56, right = 10, top = 22, bottom = 20;
  const ImVec2 a(p.x + left, p.y + top), b(p.x + size.x - right, p.y + size.y - bottom);
  dl->AddText(ImVec2(p.x + 8, p.y + 4), IM_COL32(220, 224, 230, 255), title);
  double lo = INFINITY, hi = -INFINITY;
  for (const Line& l : lines)
    for (const SeriesPoint& s : *l.points)
      if (std::isfinite(s.value)) {
        lo = std::min(lo, s.value);
        hi = std::max(hi, s.value);
      }
  if (!(lo <= hi) || b.x <= a.x || b.y <= a.y) {
    dl->AddText(ImVec2(a.x, (a.y + b.y) / 2), theme::kTextMuted, "no data yet");
    return 0;
  }
  if (hi - lo < 1e-12 * std::max(1.0, std::fabs(hi))) {
    lo -= 0.5 * std::max(1e-9, std::fabs(lo));
    hi += 0.5 * std::max(1e-9, std::fabs(hi));
  }
  const double x1 = std::max(1.0, maxStep);
  auto X = [&](double s) { return float(a.x + (b.x - a.x) * s / x1); };
  auto Y = [&](double v) { return float(b.y - (b.y - a.y) * (v - lo) / (hi - lo)); };
  dl->AddRect(a, b, IM_COL32(70, 75, 85, 255));
  dl->AddText(ImVec2(p.x + 4, a.y - 6), theme::kTextMuted, axisLabel(hi).c_str());
  dl->AddText(ImVec2(p.x + 4, b.y - 8), theme::kTextMuted, axisLabel(lo).c_str());
  dl->AddText(ImVec2(b.x - 60, b.y + 3), theme::kTextMuted, ("step " + std::to_string(int64_t(x1))).c_str());
  int drawn = 0;
  float legendX = p.x + 8 + ImGui::CalcTextSize(title).x + 16;
  for (const Line& l : lines) {
    std::vector<ImVec2> pts;
    for (const SeriesPoint& s : *l.points)
      if (std::isfinite(s.value)) pts.push_back(ImVec2(X(s.step), Y(s.value)));
    if (pts.size() == 1) dl->AddCircleFilled(pts[0], 3.0f, l.colour);
    if (pts.size() > 1) dl->AddPolyline(pts.data(), int(pts.size()), l.colour, 0, 1.5f);
    if (pts.size() <= 40)
      for (const ImVec2& q : pts) dl->AddCircleFilled(q, 2.0f, l.colour);
    drawn += int(pts.size());
    if (lines.size() > 1) {
      dl->AddRectFilled(ImVec2(legendX, p.y + 8), ImVec2(legendX + 8, p.y + 16), l.colour);
      dl->AddText(ImVec2(legendX + 12, p.y + 4), theme::kTextMuted, l.name.c_str());
      legendX += 24 + ImGui::CalcTextSize(l.name.c_str()).x;
    }
  }
  return drawn;
}

}  // namespace

void TrainingPlotsView::draw() {
  const TrainingSeries& s = *series_;
  double maxStep = double(s.totalSteps);
  for (const SeriesPoint& p : s.loss) maxStep = std::max(maxStep, p.step);
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float gap = 8;
  const ImVec2 cell((avail.x - gap) / 2, std::max(120.0f, (avail.y - gap) / 2));
  ImGui::Dummy(ImVec2(avail.x, 2 * cell.y + gap));

  std::vector<Line> evalLines;
  int c = 0;
  for (const auto& [name, pts] : s.eval) evalLines.push_back({&pts, kPalette[c++ % 5], name});
  pointsDrawn_ = 0;
  pointsDrawn_ += drawPlot("training loss", {{&s.loss, kPalette[0], "loss"}}, maxStep, origin, cell);
  pointsDrawn_ += drawPlot("learning rate", {{&s.lr, kPalette[1], "lr"}}, maxStep, ImVec2(origin.x + cell.x + gap, origin.y), cell);
  pointsDrawn_ += drawPlot("throughput (tokens/s)", {{&s.throughput, kPalette[2], "tokens/s"}}, maxStep,
                           ImVec2(origin.x, origin.y + cell.y + gap), cell);
  pointsDrawn_ += drawPlot("evaluation", evalLines, maxStep, ImVec2(origin.x + cell.x + gap, origin.y + cell.y + gap), cell);
}

}  // namespace bb::ui
