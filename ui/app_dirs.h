#pragma once
// The studio's per-user directories (engine/core/xdg_dirs.h) as Qt sees them: settings live in
// ~/.config/bigbird-studio/bigbird-studio.conf, user data (crash reports, ...) in
// ~/.local/share/bigbird-studio. Downloaded models stay in the shared Hugging Face cache.
#include <QString>

namespace bb::ui {

// Names the application "bigbird-studio" for QSettings and points QSettings' user scope at the XDG
// config home, so QSettings() everywhere reads and writes the file above. Call after QApplication.
void useXdgSettings();
QString settingsFile();   // where QSettings() writes, after useXdgSettings()
QString userDataDir();    // ~/.local/share/bigbird-studio (not created)
QString crashReportDir(); // userDataDir()/reports (not created)

}  // namespace bb::ui
