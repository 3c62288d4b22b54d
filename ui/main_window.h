#pragma once
// The BigBird Studio main window: menus, status bar, and the ImGui widget hosting the views as
// its central widget (or a placeholder that explains why, where OpenGL is unavailable).
#include <QMainWindow>

#include "ui/mask_config.h"

class QLabel;

namespace bb::ui {

class ImGuiWidget;
class MaskView;

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  explicit MainWindow(const MaskConfig& pattern = {}, QWidget* parent = nullptr);

  ImGuiWidget* imguiWidget() const { return imgui_; }  // null when OpenGL is unavailable
  MaskView* maskView() const { return maskView_; }     // null when OpenGL is unavailable

 private:
  void createMenus();
  void exportPng();
  void showAbout();

  ImGuiWidget* imgui_ = nullptr;
  MaskView* maskView_ = nullptr;
  QLabel* rendererLabel_ = nullptr;
};

}  // namespace bb::ui
