#pragma once
// Sparse vs full: the document through block_sparse and through original_full. Per layer, how far
// the hidden states drift apart and how much attention mass full attention puts on key blocks the
// sparse pattern never computes; at the output, fill-mask predictions at the selected (masked)
// token and top-1 agreement / KL over probe positions; and where in the text the outputs differ.
#include <string>

#include "ui/gl_texture.h"
#include "ui/imgui_widget.h"

namespace bb::ui {

class LabSession;

class SparseFullView : public ImGuiView {
 public:
  explicit SparseFullView(LabSession* session);
  const char* title() const override { return "Sparse vs full"; }
  void draw() override;
  bool animating() const override;
  std::string exportName() const override { return "sparse-vs-full"; }
  std::string exportCsv() const override;  // per layer: hidden-state difference, mass outside the pattern
  std::string exportJson() const override;

 private:
  void drawHeader();
  void drawLayerBars(float height);
  void drawPredictions();
  void drawTokenStrip();

  LabSession* session_;
  GlTexture strip_;
  const void* stripFor_ = nullptr;
};

}  // namespace bb::ui
