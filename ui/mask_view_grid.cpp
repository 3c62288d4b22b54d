// The grid canvas of the mask view: cells, axis ticks, zoom at the mouse, hover and tooltip.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "ui/imgui_helpers.h"
#include "ui/imgui_style.h"
#include "ui/mask_colours.h"
#include "ui/mask_view.h"

namespace bb::ui {

using bb::attn::BlockKind;

namespace {

constexpr float kAxisLeft = 44.0f;  // room for query-block tick labels
constexpr float kAxisTop = 24.0f;   // room for key-block tick labels

ImU32 cellColour(BlockKind kind, bool full) { return toImU32(mask_cell_colour(kind, full)); }

// The visible part of the grid in one frame: cell (q, k) spans x0 + k*cell .. x0 + (k+1)*cell.
struct GridFrame {
  float x0, y0, cell;
  int nb;
  int k0, k1, q0, q1;  // visible key / query block ranges [k0, k1), [q0, q1)
  float x(int k) const { return x0 + float(k) * cell; }
  float y(int q) const { return y0 + float(q) * cell; }
};

// The "not computed" (or dense) background, then one rectangle per run of equal cells in a row.
void drawCells(ImDrawList* dl, const GridFrame& f, const std::vector<BlockKind>& grid, bool full, int block) {
  dl->AddRectFilled(ImVec2(f.x(f.k0), f.y(f.q0)), ImVec2(f.x(f.k1), f.y(f.q1)),
                    cellColour(BlockKind::NotComputed, full));
  if (!full) {
    for (int q = f.q0; q < f.q1; ++q) {
      const BlockKind* row = grid.data() + size_t(q) * size_t(f.nb);
      for (int k = f.k0; k < f.k1;) {
        const BlockKind kind = row[k];
        int end = k + 1;
        while (end < f.k1 && row[end] == kind) ++end;
        if (kind != BlockKind::NotComputed)
          dl->AddRectFilled(ImVec2(f.x(k), f.y(q)), ImVec2(f.x(end), f.y(q + 1)), cellColour(kind, false));
        k = end;
      }
    }
  }
  // Token boundaries inside the visible cells once a token is wide enough to see.
  const float token = f.cell / float(block);
  if (token >= 5.0f) {
    const ImU32 line = IM_COL32(0, 0, 0, 60);
    const float x0 = f.x(f.k0), x1 = f.x(f.k1), y0 = f.y(f.q0), y1 = f.y(f.q1);
    const ImVec2 clipMin = dl->GetClipRectMin(), clipMax = dl->GetClipRectMax();
    for (float x = x0; x < x1; x += token)
      if (x >= clipMin.x && x <= clipMax.x) dl->AddLine(ImVec2(x, y0), ImVec2(x, y1), line);
    for (float y = y0; y < y1; y += token)
      if (y >= clipMin.y && y <= clipMax.y) dl->AddLine(ImVec2(x0, y), ImVec2(x1, y), line);
  }
  // 1-pixel gutters between cells once they are large enough to read as a grid.
  if (f.cell >= 6.0f) {
    for (int k = f.k0; k <= f.k1; ++k)
      dl->AddRectFilled(ImVec2(f.x(k), f.y(f.q0)), ImVec2(f.x(k) + 1, f.y(f.q1)), theme::kCanvasBg);
    for (int q = f.q0; q <= f.q1; ++q)
      dl->AddRectFilled(ImVec2(f.x(f.k0), f.y(q)), ImVec2(f.x(f.k1), f.y(q) + 1), theme::kCanvasBg);
  }
}

// Block numbers every 2^n blocks, at least ~36 px apart. When the grid is scrolled they stick to
// the top and left edges on a band of their own, so they stay readable.
void drawAxisTicks(ImDrawList* dl, const GridFrame& f, ImVec2 clipMin, ImVec2 clipMax) {
  int step = 1;
  while (float(step) * f.cell < 36.0f && step < f.nb) step *= 2;
  const float lineH = ImGui::GetTextLineHeight();
  const float topY = std::max(f.y0 - lineH - 4.0f, clipMin.y + 2.0f);
  const float leftX = std::max(f.x0 - 6.0f, clipMin.x + kAxisLeft - 6.0f);  // right edge of the row labels
  if (topY > f.y0 - lineH - 4.0f)
    dl->AddRectFilled(clipMin, ImVec2(clipMax.x, topY + lineH + 3.0f), theme::kCanvasBg);
  if (leftX > f.x0 - 6.0f) dl->AddRectFilled(clipMin, ImVec2(leftX + 4.0f, clipMax.y), theme::kCanvasBg);
  char buf[16];
  for (int k = 0; k < f.nb; k += step) {
    if (k + 1 < f.k0 || k > f.k1) continue;
    std::snprintf(buf, sizeof buf, "%d", k);
    const float x = std::round(f.x(k) + f.cell * 0.5f - ImGui::CalcTextSize(buf).x * 0.5f);
    if (x > leftX) dl->AddText(ImVec2(x, topY), theme::kTextMuted, buf);
  }
  for (int q = 0; q < f.nb; q += step) {
    if (q + 1 < f.q0 || q > f.q1) continue;
    std::snprintf(buf, sizeof buf, "%d", q);
    const float y = std::round(f.y(q) + f.cell * 0.5f - lineH * 0.5f);
    if (y > topY + lineH) dl->AddText(ImVec2(leftX - ImGui::CalcTextSize(buf).x, y), theme::kTextMuted, buf);
  }
}

}  // namespace

void MaskView::drawGrid() {
  const bool full = fullAttention();
  const int nb = drawnBlocks();
  const ImGuiIO& io = ImGui::GetIO();
  // At "fit" the grid fills the view exactly: no scrollbars (they would shrink the view and keep
  // themselves alive). Zoomed in, it scrolls both ways.
  const bool fitted = zoom_ <= 1.0f;
  ImGuiWindowFlags flags = fitted ? ImGuiWindowFlags_NoScrollbar : ImGuiWindowFlags_HorizontalScrollbar;
  if (io.KeyCtrl) flags |= ImGuiWindowFlags_NoScrollWithMouse;  // Ctrl+wheel zooms instead
  ImGui::PushStyleColor(ImGuiCol_ChildBg, theme::kCanvasBg);
  ImGui::BeginChild("##grid", ImVec2(0, 0), false, flags);
  ImGui::PopStyleColor();
  if (fitted && (ImGui::GetScrollX() != 0.0f || ImGui::GetScrollY() != 0.0f)) {
    ImGui::SetScrollX(0.0f);
    ImGui::SetScrollY(0.0f);
  }

  // Layout from the child's full size, so scrollbars appearing when zoomed do not change the fit.
  const ImVec2 viewSize = ImGui::GetWindowSize();
  const ImVec2 origin = ImGui::GetCursorScreenPos();  // moves with the scroll position
  const float margin = 10.0f;
  const float fit =
      std::max(1.0f, std::min(viewSize.x - kAxisLeft - margin, viewSize.y - kAxisTop - margin)) / float(nb);
  fitCell_ = fit;
  zoom_ = std::min(zoom_, maxZoom());
  auto cellFor = [fit](float zoom) {
    const float c = fit * zoom;
    return c >= 2.0f ? std::floor(c) : c;  // whole pixels keep cell edges crisp
  };
  // Centre the grid while it fits; once zoomed in it starts at the margin and scrolls.
  auto padFor = [&](float c) {
    return std::max(0.0f, std::floor((viewSize.x - kAxisLeft - margin - c * float(nb)) * 0.5f));
  };
  float cell = cellFor(zoom_);
  float padX = padFor(cell);

  // Ctrl+wheel zooms at the mouse. Done before the layout so that this frame's content size (which
  // bounds next frame's scroll) already has the new zoom.
  const ImVec2 m = io.MousePos;
  const float gx = origin.x + kAxisLeft + padX, gy = origin.y + kAxisTop;
  if (ImGui::IsWindowHovered() && io.KeyCtrl && io.MouseWheel != 0.0f && m.x >= gx && m.y >= gy &&
      m.x < gx + cell * float(nb) && m.y < gy + cell * float(nb)) {
    const float newZoom = std::clamp(zoom_ * std::pow(1.25f, io.MouseWheel), 1.0f, maxZoom());
    const float newCell = cellFor(newZoom), newPad = padFor(newCell);
    const float u = (m.x - gx) / cell, v = (m.y - gy) / cell;  // the block coordinate under the mouse
    ImGui::SetScrollX(ImGui::GetScrollX() + (newPad + u * newCell) - (padX + u * cell));
    ImGui::SetScrollY(ImGui::GetScrollY() + v * (newCell - cell));
    zoom_ = newZoom;
    cell = newCell;
    padX = newPad;
  }
  const float side = cell * float(nb);
  const float x0 = std::floor(origin.x + kAxisLeft + padX), y0 = std::floor(origin.y + kAxisTop);
  ImGui::Dummy(ImVec2(kAxisLeft + padX + side + margin, kAxisTop + side + margin));
  geometry_ = {x0, y0, cell, nb, full};

  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 clipMin = dl->GetClipRectMin(), clipMax = dl->GetClipRectMax();
  auto visible = [nb, cell](float lo, float hi, float start) {
    const int from = std::clamp(int(std::floor((lo - start) / cell)), 0, nb);
    const int to = std::clamp(int(std::ceil((hi - start) / cell)), 0, nb);
    return std::pair{from, to};
  };
  const auto [k0, k1] = visible(clipMin.x, clipMax.x, x0);
  const auto [q0, q1] = visible(clipMin.y, clipMax.y, y0);
  const GridFrame f{x0, y0, cell, nb, k0, k1, q0, q1};
  drawCells(dl, f, shown_, full, config_.block);
  drawAxisTicks(dl, f, clipMin, clipMax);
  if (focusQuery_ >= 0 && focusQuery_ < nb) {
    // The tour's focus row: everything else dimmed, the row outlined.
    const ImU32 dim = IM_COL32(20, 22, 26, 150);
    dl->AddRectFilled(ImVec2(f.x(0), f.y(0)), ImVec2(f.x(nb), f.y(focusQuery_)), dim);
    dl->AddRectFilled(ImVec2(f.x(0), f.y(focusQuery_ + 1)), ImVec2(f.x(nb), f.y(nb)), dim);
    dl->AddRect(ImVec2(f.x(0) - 1, f.y(focusQuery_) - 1), ImVec2(f.x(nb) + 1, f.y(focusQuery_ + 1) + 1),
                theme::kSelection, 0.0f, 0, 2.0f);
  }
  if (!caption_.empty()) {
    const ImVec2 pad(8, 5);
    const float wrap = std::max(80.0f, clipMax.x - clipMin.x - kAxisLeft - 16.0f - pad.x * 2);
    const ImVec2 size = ImGui::CalcTextSize(caption_.c_str(), nullptr, false, wrap);
    const ImVec2 at(clipMin.x + kAxisLeft + 8, clipMax.y - size.y - pad.y * 2 - 8);
    dl->AddRectFilled(at, ImVec2(at.x + size.x + pad.x * 2, at.y + size.y + pad.y * 2), IM_COL32(28, 31, 36, 235), 5.0f);
    dl->AddText(ImGui::GetFont(), ImGui::GetFontSize(), ImVec2(at.x + pad.x, at.y + pad.y), IM_COL32(235, 238, 242, 255),
                caption_.c_str(), nullptr, wrap);
  }

  // Drag to pan once zoomed (left or middle button on the grid).
  if (!fitted && ImGui::IsWindowHovered() &&
      (ImGui::IsMouseDragging(ImGuiMouseButton_Left, 2.0f) || ImGui::IsMouseDragging(ImGuiMouseButton_Middle, 2.0f))) {
    ImGui::SetScrollX(ImGui::GetScrollX() - io.MouseDelta.x);
    ImGui::SetScrollY(ImGui::GetScrollY() - io.MouseDelta.y);
  }

  // Hover: outline the query row, the key column and the cell; explain in a tooltip.
  if (ImGui::IsWindowHovered() && m.x >= x0 && m.y >= y0 && m.x < x0 + side && m.y < y0 + side) {
    const int k = std::clamp(int((m.x - x0) / cell), 0, nb - 1);
    const int q = std::clamp(int((m.y - y0) / cell), 0, nb - 1);
    const ImU32 outline = IM_COL32(255, 255, 255, 90);
    dl->AddRect(ImVec2(f.x(0), f.y(q)), ImVec2(f.x(nb), f.y(q + 1)), outline);
    dl->AddRect(ImVec2(f.x(k), f.y(0)), ImVec2(f.x(k + 1), f.y(nb)), outline);
    dl->AddRect(ImVec2(f.x(k) - 1, f.y(q) - 1), ImVec2(f.x(k + 1) + 1, f.y(q + 1) + 1), IM_COL32(255, 255, 255, 255),
                0.0f, 0, 2.0f);
    const float token = cell / float(config_.block);
    const int64_t qt = token >= 4.0f ? int64_t(q) * config_.block + int64_t((m.y - f.y(q)) / token) : -1;
    const int64_t kt = token >= 4.0f ? int64_t(k) * config_.block + int64_t((m.x - f.x(k)) / token) : -1;
    if (qt >= 0) {
      dl->AddRect(ImVec2(f.x(k) + float(kt - int64_t(k) * config_.block) * token, f.y(q) + float(qt - int64_t(q) * config_.block) * token),
                  ImVec2(f.x(k) + float(kt - int64_t(k) * config_.block + 1) * token,
                         f.y(q) + float(qt - int64_t(q) * config_.block + 1) * token),
                  IM_COL32(0, 0, 0, 255), 0.0f, 0, 1.5f);
    }
    drawTooltip(q, k, qt, kt);
  }
  ImGui::EndChild();
}

void MaskView::drawTooltip(int q, int k, int64_t queryToken, int64_t keyToken) const {
  const int64_t b = config_.block;
  const int nb = drawnBlocks();
  ImGui::BeginTooltip();
  ImGui::PushFont(font(FontRole::Bold));
  ImGui::Text("Query block %d", q);
  ImGui::PopFont();
  ImGui::SameLine();
  label(("tokens " + std::to_string(q * b) + "–" + std::to_string((q + 1) * b - 1)).c_str());
  if (queryToken >= 0) {
    const bool padded = queryToken >= config_.seq_len || keyToken >= config_.seq_len;
    ImGui::Text("Query token %lld → key token %lld%s", static_cast<long long>(queryToken),
                static_cast<long long>(keyToken), padded ? "  (padding)" : "");
  }
  if (fullAttention()) {
    ImGui::Text("Key block %d: computed (full attention attends every key block)", k);
    ImGui::EndTooltip();
    return;
  }
  const size_t cellIndex = size_t(q) * size_t(nb) + size_t(k);
  const BlockKind kind = grid_[cellIndex];
  swatch(mask_cell_colour(kind), ImGui::GetTextLineHeight() * 0.8f);
  ImGui::SameLine();
  ImGui::Text("Key block %d: %s", k, bb::attn::to_string(kind));
  if (multiplicity_[cellIndex] > 1) {
    ImGui::SameLine();
    ImGui::PushStyleColor(ImGuiCol_Text, theme::kTextWarning);
    ImGui::Text("(attended %d times)", int(multiplicity_[cellIndex]));
    ImGui::PopStyleColor();
  }
  ImGui::Separator();

  const std::vector<bb::attn::KeyBlock> keys = plan_.pattern.key_blocks(config_.head, q);
  if (q == 0 || q == nb - 1) {
    ImGui::Text("Global query row: attends all %d key blocks.", nb);
    ImGui::EndTooltip();
    return;
  }
  // Distinct key blocks in the order the scores are laid out, each with why (and how often) it is attended.
  struct Entry {
    int block;
    int count = 0;
    std::vector<std::pair<BlockKind, int>> reasons;
  };
  std::vector<Entry> entries;
  for (const auto& kb : keys) {
    auto it = std::find_if(entries.begin(), entries.end(), [&](const Entry& e) { return e.block == kb.block; });
    if (it == entries.end()) it = entries.insert(entries.end(), Entry{kb.block, 0, {}});
    ++it->count;
    auto r = std::find_if(it->reasons.begin(), it->reasons.end(), [&](const auto& p) { return p.first == kb.kind; });
    if (r == it->reasons.end())
      it->reasons.push_back({kb.kind, 1});
    else
      ++r->second;
  }
  auto why = [](const Entry& e) {
    std::string s;
    for (const auto& [kind, n] : e.reasons) {
      if (!s.empty()) s += " + ";
      s += bb::attn::to_string(kind);
      if (n > 1) s += " ×" + std::to_string(n);
    }
    return s;
  };
  ImGui::Text("%d key-block tiles, %d distinct:", int(keys.size()), int(entries.size()));
  if (ImGui::BeginTable("##keys", 3, ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingFixedFit |
                                         ImGuiTableFlags_BordersInnerV)) {
    ImGui::TableSetupColumn("key block");
    ImGui::TableSetupColumn("why");
    ImGui::TableSetupColumn("times");
    ImGui::TableHeadersRow();
    for (const Entry& e : entries) {
      ImGui::TableNextRow();
      if (e.block == k) ImGui::TableSetBgColor(ImGuiTableBgTarget_RowBg1, IM_COL32(255, 255, 255, 28));
      ImGui::TableNextColumn();
      swatch(mask_cell_colour(grid_[size_t(q) * size_t(nb) + size_t(e.block)]), ImGui::GetTextLineHeight() * 0.7f);
      ImGui::SameLine();
      ImGui::Text("%d", e.block);
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(why(e).c_str());
      ImGui::TableNextColumn();
      ImGui::PushStyleColor(ImGuiCol_Text, e.count > 1 ? theme::kTextWarning : theme::kTextMuted);
      ImGui::Text("×%d", e.count);
      ImGui::PopStyleColor();
    }
    ImGui::EndTable();
  }
  ImGui::EndTooltip();
}

}  // namespace bb::ui
