#pragma once
// Forwards Qt input events to the Dear ImGui 1.86 IO of one context (mouse, wheel, keys through
// KeyMap, text, focus, cursor shape). 1.86 samples MouseDown/KeysDown once per NewFrame(), so a
// press and a release that arrive between two frames (fast taps, QTest clicks) would be lost:
// such a release is held back until afterNewFrame() has let one frame see the press.
#include <array>

struct ImGuiContext;
class QEvent;
class QWidget;

namespace bb::ui {

class ImGuiQtInput {
 public:
  explicit ImGuiQtInput(ImGuiContext* context);

  // Returns true when the event was an input event for ImGui (the caller should schedule frames).
  bool handle(QEvent* event);
  // Call right after ImGui::NewFrame(): applies the releases held back for this frame.
  void afterNewFrame();
  // Mirror ImGui's requested cursor shape on the widget (call after ImGui::Render()).
  void updateCursor(QWidget* widget);
  // True while a held-back release still needs a frame to be seen.
  bool hasPendingInput() const;

 private:
  static constexpr int kMouseButtons = 5;
  static constexpr int kKeys = 512;
  void setMouseButton(int button, bool down);
  void setKey(int key, bool down);
  void releaseEverything();

  ImGuiContext* context_;
  std::array<bool, kMouseButtons> mousePressedThisFrame_{}, mouseReleasePending_{};
  std::array<bool, kKeys> keyPressedThisFrame_{}, keyReleasePending_{};
  int lastCursor_ = -2;
};

}  // namespace bb::ui
