#pragma once
// The block-sparse attention mask view: controls for length, block size, random blocks, heads,
// layer, head and reference mode; the nb x nb block grid of one head drawn from the engine's
// BlockPattern (the view computes no pattern of its own), a legend, statistics, a hover tooltip
// that lists why each key block is attended, and a one-line status.
#include <QRectF>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "engine/attention/plan.h"
#include "ui/imgui_widget.h"
#include "ui/mask_config.h"

namespace bb::ui {

// Where the last frame drew the grid, in widget coordinates (logical pixels).
struct MaskGridGeometry {
  float x0 = 0, y0 = 0;  // top-left corner of cell (query 0, key 0)
  float cell = 0;        // side of one cell
  int num_blocks = 0;    // 0 when no grid was drawn
  bool full_attention = false;
};

// Which kinds of cells the view shows (the tour builds the pattern up kind by kind).
enum KindMask : uint8_t { kShowGlobal = 1, kShowWindow = 2, kShowRandom = 4, kShowAll = 7 };

class MaskView : public ImGuiView {
 public:
  static constexpr float kMaxZoom = 512.0f;   // bounded further so a token is at most kMaxTokenPx
  static constexpr float kMaxTokenPx = 40.0f;

  explicit MaskView(const MaskConfig& config = {});

  const char* title() const override { return "Attention pattern"; }
  void draw() override;
  std::string exportName() const override { return "pattern"; }
  std::string exportCsv() const override;   // one row per computed cell of the shown head
  std::string exportJson() const override;  // configuration, decision and key-block lists

  // Throws bb::Error (one line) when the configuration is out of range.
  void setConfig(const MaskConfig& config);
  const MaskConfig& config() const { return config_; }
  const bb::attn::LayerPattern& layerPattern() const { return plan_; }
  const std::string& planError() const { return planError_; }
  // nb, computed block pairs against nb^2, share of full attention and the engine's decision.
  std::string summary() const;
  MaskGridGeometry gridGeometry() const { return geometry_; }
  // Rectangle of a control in the last frame, in widget coordinates ("length", "random", "heads",
  // "layer", "head", "attention", "block:<size>", "mode:<tf|hf-train|hf-eval>", "zoom:in", "zoom:out",
  // "zoom:fit").
  // Empty when it was not drawn. Tests and guided tours point at controls through it.
  QRectF controlRect(const std::string& id) const;

  void resetZoom() { zoom_ = 1.0f; }
  float zoom() const { return zoom_; }
  // Zooms so that one token is `px` pixels wide (token-level inspection), keeping the top-left.
  void zoomToTokenSize(float px);

  // Guided tour support: which kinds are drawn, a query block to outline (-1: none) and a
  // caption drawn over the grid.
  void setVisibleKinds(uint8_t mask);
  uint8_t visibleKinds() const { return visibleKinds_; }
  void setFocusQueryBlock(int q) { focusQuery_ = q; }
  void setCaption(std::string caption) { caption_ = std::move(caption); }
  // Called after every change of configuration (the main window mirrors summary() in its status bar).
  void setOnChange(std::function<void()> callback) { onChange_ = std::move(callback); }

 private:
  void recompute();
  void refreshHead();
  void apply(const MaskConfig& edited);
  void remember(const std::string& id);
  int drawnBlocks() const;
  float maxZoom() const;
  bool fullAttention() const;

  void drawControls();
  void drawLegendAndStats();
  void drawCanvas();
  void drawGrid();
  void drawTooltip(int q, int k, int64_t queryToken, int64_t keyToken) const;
  void drawStatusLine() const;

  MaskConfig config_;
  bb::attn::LayerPattern plan_;
  std::string planError_;
  std::vector<bb::attn::BlockKind> grid_;  // current head, from BlockPattern::grid()
  std::vector<bb::attn::BlockKind> shown_; // grid_ with the hidden kinds removed
  std::vector<uint8_t> multiplicity_;      // current head, from BlockPattern::multiplicity()
  int64_t kindCounts_[4] = {0, 0, 0, 0};
  int64_t duplicatedCells_ = 0;

  float zoom_ = 1.0f;
  float fitCell_ = 0.0f;  // cell size at zoom 1 in the last frame
  uint8_t visibleKinds_ = kShowAll;
  int focusQuery_ = -1;
  std::string caption_;
  MaskGridGeometry geometry_;
  std::map<std::string, QRectF> controls_;
  std::function<void()> onChange_;
};

}  // namespace bb::ui
