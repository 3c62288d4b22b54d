#pragma once
// Attention on a document: the real probabilities the model computed (captured by the engine,
// block-structured) as a heatmap over the block grid. Zoomed out, one texel per block pair (the
// attention mass); zoomed in, a texture of the visible tokens only. Tiles the sparse pattern never
// computes keep the pattern view's grey. Clicking selects a query token.
#include <QRectF>
#include <functional>
#include <string>

#include "ui/colormap.h"
#include "ui/gl_texture.h"
#include "ui/imgui_widget.h"

namespace bb::ui {

class LabSession;

// Where the heatmap was drawn in the last frame (widget coordinates, logical pixels).
struct HeatmapGeometry {
  float x0 = 0, y0 = 0, cell = 0;  // cell = one block
  int nb = 0, block = 0;
  bool tokenLevel = false;  // the last frame used the token texture
};

class DocumentView : public ImGuiView {
 public:
  explicit DocumentView(LabSession* session);
  const char* title() const override { return "Document attention"; }
  void draw() override;
  bool animating() const override;
  std::string exportName() const override { return "document-attention"; }
  std::string exportCsv() const override;   // block-mass grid of the current layer/heads
  std::string exportJson() const override;  // selection, decision, top-k with weights

  HeatmapGeometry geometry() const { return geometry_; }
  // Zoom so that one token is `px` pixels (token-level texture), keeping the view's top-left.
  void setZoom(float zoom) { zoom_ = zoom; }
  float zoom() const { return zoom_; }
  void scrollTo(float blockX, float blockY) { pendingScroll_ = {blockX, blockY}; }
  void setShowControls(bool on) { showControls_ = on; }

 private:
  void drawControls();
  void drawCanvas();
  void drawEmptyState();
  void ensureBlockTexture(int layer, int s);
  bool ensureTokenTexture(int layer, int s, int qb0, int qb1, int kb0, int kb1);

  LabSession* session_;
  LogScale scale_{1e-4f, 1.0f};
  float zoom_ = 1.0f;
  std::pair<float, float> pendingScroll_{-1.0f, -1.0f};
  bool showControls_ = true;
  HeatmapGeometry geometry_;

  GlTexture blockTexture_, tokenTexture_;
  const void* blockKeyRun_ = nullptr;
  int blockKeyLayer_ = -1, blockKeySel_ = -1;
  const void* tokenKeyRun_ = nullptr;
  int tokenKey_[6] = {-1, -1, -1, -1, -1, -1};
};

}  // namespace bb::ui
