#pragma once
// The document as text with its source formatting, every token tinted by the current selection's
// weight (what the selected token attends to, or what attends to it), the top-k outlined and
// ranked. Only the visible lines are drawn (the layout is computed once per width), so 4096
// tokens cost no more per frame than one screen of text. Clicking a token selects it.
#include <QRectF>
#include <string>

#include "ui/colormap.h"
#include "ui/imgui_widget.h"
#include "ui/token_layout.h"

namespace bb::ui {

class LabSession;
struct LabDocument;

class TokenView : public ImGuiView {
 public:
  explicit TokenView(LabSession* session);
  const char* title() const override { return "Document text"; }
  void draw() override;
  std::string exportName() const override { return "document-tokens"; }
  std::string exportCsv() const override;  // token, text, weight, rank
  std::string exportJson() const override;

  // The token's box in the last frame (widget coordinates); empty when it was not visible.
  QRectF tokenRect(int64_t token) const;
  // Scrolls so that the token is visible in the next frame.
  void scrollToToken(int64_t token) {
    scrollTo_ = token;
    scrollFrames_ = 4;
  }
  void setShowToolbar(bool on) { showToolbar_ = on; }

 private:
  void drawToolbar();
  void drawText();

  LabSession* session_;
  TokenLayout layout_;
  const LabDocument* layoutDoc_ = nullptr;
  float layoutWidth_ = -1, layoutFontSize_ = -1;
  LogScale scale_{1e-2f, 1.0f};  // relative to the strongest weight: two decades of tint
  float originX_ = 0, originY_ = 0, scrollY_ = 0, visibleH_ = 0;
  int64_t scrollTo_ = -1;
  int scrollFrames_ = 0;
  int64_t lastSelected_ = -1;
  bool showToolbar_ = true;
};

}  // namespace bb::ui
