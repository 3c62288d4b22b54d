#include "ui/imgui_qt_input.h"

#include <imgui.h>

#include <QClipboard>
#include <QGuiApplication>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QWheelEvent>
#include <QWidget>
#include <cfloat>

namespace bb::ui {

namespace {

// Qt key -> index into io.KeysDown. The named ImGui keys use their own enum value as index
// (io.KeyMap[k] = k); other keys reach ImGui as text only.
int keyIndex(int qtKey) {
  switch (qtKey) {
    case Qt::Key_Tab: return ImGuiKey_Tab;
    case Qt::Key_Backtab: return ImGuiKey_Tab;
    case Qt::Key_Left: return ImGuiKey_LeftArrow;
    case Qt::Key_Right: return ImGuiKey_RightArrow;
    case Qt::Key_Up: return ImGuiKey_UpArrow;
    case Qt::Key_Down: return ImGuiKey_DownArrow;
    case Qt::Key_PageUp: return ImGuiKey_PageUp;
    case Qt::Key_PageDown: return ImGuiKey_PageDown;
    case Qt::Key_Home: return ImGuiKey_Home;
    case Qt::Key_End: return ImGuiKey_End;
    case Qt::Key_Insert: return ImGuiKey_Insert;
    case Qt::Key_Delete: return ImGuiKey_Delete;
    case Qt::Key_Backspace: return ImGuiKey_Backspace;
    case Qt::Key_Space: return ImGuiKey_Space;
    case Qt::Key_Return: return ImGuiKey_Enter;
    case Qt::Key_Escape: return ImGuiKey_Escape;
    case Qt::Key_Enter: return ImGuiKey_KeyPadEnter;
    case Qt::Key_A: return ImGuiKey_A;
    case Qt::Key_C: return ImGuiKey_C;
    case Qt::Key_V: return ImGuiKey_V;
    case Qt::Key_X: return ImGuiKey_X;
    case Qt::Key_Y: return ImGuiKey_Y;
    case Qt::Key_Z: return ImGuiKey_Z;
    default: return -1;
  }
}

int mouseButtonIndex(Qt::MouseButton b) {
  switch (b) {
    case Qt::LeftButton: return 0;
    case Qt::RightButton: return 1;
    case Qt::MiddleButton: return 2;
    case Qt::BackButton: return 3;
    case Qt::ForwardButton: return 4;
    default: return -1;
  }
}

Qt::CursorShape cursorShape(ImGuiMouseCursor c) {
  switch (c) {
    case ImGuiMouseCursor_TextInput: return Qt::IBeamCursor;
    case ImGuiMouseCursor_ResizeAll: return Qt::SizeAllCursor;
    case ImGuiMouseCursor_ResizeNS: return Qt::SizeVerCursor;
    case ImGuiMouseCursor_ResizeEW: return Qt::SizeHorCursor;
    case ImGuiMouseCursor_ResizeNESW: return Qt::SizeBDiagCursor;
    case ImGuiMouseCursor_ResizeNWSE: return Qt::SizeFDiagCursor;
    case ImGuiMouseCursor_Hand: return Qt::PointingHandCursor;
    case ImGuiMouseCursor_NotAllowed: return Qt::ForbiddenCursor;
    case ImGuiMouseCursor_None: return Qt::BlankCursor;
    default: return Qt::ArrowCursor;
  }
}

void setModifiers(ImGuiIO& io, Qt::KeyboardModifiers m) {
  io.KeyCtrl = m.testFlag(Qt::ControlModifier);
  io.KeyShift = m.testFlag(Qt::ShiftModifier);
  io.KeyAlt = m.testFlag(Qt::AltModifier);
  io.KeySuper = m.testFlag(Qt::MetaModifier);
}

const char* clipboardText(void* user_data) {
  auto* storage = static_cast<QByteArray*>(user_data);
  *storage = QGuiApplication::clipboard()->text().toUtf8();
  return storage->constData();
}

void setClipboardText(void*, const char* text) { QGuiApplication::clipboard()->setText(QString::fromUtf8(text)); }

QByteArray& clipboardStorage() {
  static QByteArray storage;
  return storage;
}

}  // namespace

ImGuiQtInput::ImGuiQtInput(ImGuiContext* context) : context_(context) {
  ImGui::SetCurrentContext(context_);
  ImGuiIO& io = ImGui::GetIO();
  io.BackendPlatformName = "bigbird_qt";
  io.BackendFlags |= ImGuiBackendFlags_HasMouseCursors;
  for (int k = 0; k < ImGuiKey_COUNT; ++k) io.KeyMap[k] = k;
  io.GetClipboardTextFn = clipboardText;
  io.SetClipboardTextFn = setClipboardText;
  io.ClipboardUserData = &clipboardStorage();
}

void ImGuiQtInput::setMouseButton(int button, bool down) {
  ImGuiIO& io = ImGui::GetIO();
  if (down) {
    io.MouseDown[button] = true;
    mousePressedThisFrame_[size_t(button)] = true;
    mouseReleasePending_[size_t(button)] = false;
  } else if (mousePressedThisFrame_[size_t(button)]) {
    mouseReleasePending_[size_t(button)] = true;  // NewFrame() has not seen the press yet
  } else {
    io.MouseDown[button] = false;
  }
}

void ImGuiQtInput::setKey(int key, bool down) {
  ImGuiIO& io = ImGui::GetIO();
  if (down) {
    io.KeysDown[key] = true;
    keyPressedThisFrame_[size_t(key)] = true;
    keyReleasePending_[size_t(key)] = false;
  } else if (keyPressedThisFrame_[size_t(key)]) {
    keyReleasePending_[size_t(key)] = true;
  } else {
    io.KeysDown[key] = false;
  }
}

void ImGuiQtInput::releaseEverything() {
  ImGuiIO& io = ImGui::GetIO();
  for (int b = 0; b < kMouseButtons; ++b) setMouseButton(b, false);
  for (int k = 0; k < kKeys; ++k)
    if (io.KeysDown[k]) setKey(k, false);
  setModifiers(io, Qt::NoModifier);
}

bool ImGuiQtInput::handle(QEvent* event) {
  ImGui::SetCurrentContext(context_);
  ImGuiIO& io = ImGui::GetIO();
  switch (event->type()) {
    case QEvent::MouseButtonPress:
    case QEvent::MouseButtonDblClick:
    case QEvent::MouseButtonRelease: {
      auto* e = static_cast<QMouseEvent*>(event);
      io.MousePos = ImVec2(float(e->position().x()), float(e->position().y()));
      setModifiers(io, e->modifiers());
      const int b = mouseButtonIndex(e->button());
      if (b >= 0) setMouseButton(b, event->type() != QEvent::MouseButtonRelease);
      return true;
    }
    case QEvent::MouseMove: {
      auto* e = static_cast<QMouseEvent*>(event);
      io.MousePos = ImVec2(float(e->position().x()), float(e->position().y()));
      return true;
    }
    case QEvent::Wheel: {
      auto* e = static_cast<QWheelEvent*>(event);
      io.MousePos = ImVec2(float(e->position().x()), float(e->position().y()));
      setModifiers(io, e->modifiers());
      io.MouseWheel += float(e->angleDelta().y()) / 120.0f;
      io.MouseWheelH += float(e->angleDelta().x()) / 120.0f;
      return true;
    }
    case QEvent::Leave:
      io.MousePos = ImVec2(-FLT_MAX, -FLT_MAX);
      return true;
    case QEvent::KeyPress:
    case QEvent::KeyRelease: {
      auto* e = static_cast<QKeyEvent*>(event);
      const bool down = event->type() == QEvent::KeyPress;
      setModifiers(io, e->modifiers());
      const int k = keyIndex(e->key());
      if (k >= 0 && !(e->isAutoRepeat() && !down)) setKey(k, down);
      const QString text = e->text();
      const bool shortcut = e->modifiers().testAnyFlags(Qt::ControlModifier | Qt::MetaModifier);
      if (down && !shortcut && !text.isEmpty() && text.at(0).unicode() >= 0x20 && text.at(0).unicode() != 0x7f)
        io.AddInputCharactersUTF8(text.toUtf8().constData());
      return true;
    }
    case QEvent::FocusOut:
      releaseEverything();
      io.AddFocusEvent(false);
      return true;
    case QEvent::FocusIn:
      io.AddFocusEvent(true);
      return true;
    default:
      return false;
  }
}

void ImGuiQtInput::afterNewFrame() {
  ImGui::SetCurrentContext(context_);
  ImGuiIO& io = ImGui::GetIO();
  for (int b = 0; b < kMouseButtons; ++b) {
    if (mouseReleasePending_[size_t(b)]) io.MouseDown[b] = false;
    mouseReleasePending_[size_t(b)] = mousePressedThisFrame_[size_t(b)] = false;
  }
  for (int k = 0; k < kKeys; ++k) {
    if (keyReleasePending_[size_t(k)]) io.KeysDown[k] = false;
    keyReleasePending_[size_t(k)] = keyPressedThisFrame_[size_t(k)] = false;
  }
}

bool ImGuiQtInput::hasPendingInput() const {
  for (bool p : mouseReleasePending_)
    if (p) return true;
  for (bool p : keyReleasePending_)
    if (p) return true;
  return false;
}

void ImGuiQtInput::updateCursor(QWidget* widget) {
  ImGui::SetCurrentContext(context_);
  const ImGuiMouseCursor c = ImGui::GetMouseCursor();
  if (c == lastCursor_) return;
  lastCursor_ = c;
  widget->setCursor(cursorShape(c));
}

}  // namespace bb::ui
