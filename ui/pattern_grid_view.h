#pragma once
// Layers × heads: a thumbnail of every head's block pattern for every layer of one configuration,
// side by side, so the random blocks can be compared at a glance (the layer index seeds the
// generator; heads differ within a layer). Clicking a thumbnail shows it in the pattern view.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ui/gl_texture.h"
#include "ui/imgui_widget.h"
#include "ui/mask_config.h"

namespace bb::ui {

class PatternGridView : public ImGuiView {
 public:
  PatternGridView();
  const char* title() const override { return "Layers × heads"; }
  void draw() override;
  std::string exportName() const override { return "layers-heads"; }
  std::string exportCsv() const override;   // layer, head, random key blocks per query block
  std::string exportJson() const override;  // the same as nested lists

  // The configuration drawn (its layer/head fields are ignored); layers shown.
  void setConfig(const MaskConfig& c, int layers);
  const MaskConfig& config() const { return config_; }
  int layers() const { return layers_; }
  // Called with (layer, head) when a thumbnail is clicked.
  void setOnPick(std::function<void(int, int)> f) { onPick_ = std::move(f); }
  void setCurrent(int layer, int head) { curLayer_ = layer, curHead_ = head; }

 private:
  void rebuild();
  MaskConfig config_;
  int layers_ = 12;
  int curLayer_ = 0, curHead_ = 0;
  bool randomOnly_ = false;
  bool dirty_ = true;
  std::string error_;
  std::vector<std::unique_ptr<GlTexture>> thumbs_;  // [layer * heads + head]
  int nb_ = 0;
  bool full_ = false;
  std::function<void(int, int)> onPick_;
};

}  // namespace bb::ui
