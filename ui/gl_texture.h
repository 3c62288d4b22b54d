#pragma once
// An RGBA texture for ImGui::Image / ImDrawList::AddImage, owned by a view. It keeps a CPU copy of
// its pixels: the texture is re-created when the widget's GL context is (a dock floated or
// re-docked), and the SVG export embeds the pixels. Only use it inside ImGuiView::draw(), where the
// widget's context is current.
#include <imgui.h>

#include <QImage>

namespace bb::ui {

class GlTexture {
 public:
  GlTexture() = default;
  GlTexture(const GlTexture&) = delete;
  GlTexture& operator=(const GlTexture&) = delete;
  ~GlTexture();

  // Replaces the pixels (any format; converted to RGBA8888). `smooth` picks linear filtering.
  void setImage(const QImage& image, bool smooth = false);
  // The texture for the current frame's context, uploading it first if needed; null when empty.
  ImTextureID id();
  const QImage& image() const { return image_; }
  bool empty() const { return image_.isNull(); }

 private:
  void release();
  QImage image_;
  bool smooth_ = false;
  unsigned int name_ = 0;
  int generation_ = -1;  // the GL context generation that owns name_
  bool dirty_ = true;
};

// The pixels behind a texture drawn in the current context (SVG export), or null.
const QImage* textureImage(ImTextureID id);

// Set by ImGuiWidget around each frame: which context generation is current (-1: none).
void setCurrentGlGeneration(int generation);
int currentGlGeneration();
int newGlGeneration();

}  // namespace bb::ui
