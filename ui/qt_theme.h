#pragma once
// A dark Fusion palette for the Qt parts of the window (menus, status bar, dialogs) that matches
// the ImGui theme of the views.
class QApplication;

namespace bb::ui {
void applyDarkQtTheme(QApplication& app);
}
