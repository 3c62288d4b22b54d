#pragma once
// The BigBird Studio main window: the Attention Lab's panels as Qt docks (each hosting one Dear
// ImGui view; the dock layout is saved between runs), menus with keyboard shortcuts, a status bar
// with the task manager's progress and a cancel button, and the settings in QSettings. Where
// OpenGL is unavailable the window shows a placeholder that explains why.
#include <QMainWindow>
#include <QString>
#include <map>

#include "ui/mask_config.h"

class QLabel;
class QProgressBar;
class QToolButton;
class QDockWidget;
class QTimer;

namespace bb::ui {

class ImGuiWidget;
class ImGuiView;
class MaskView;
class PatternGridView;
class DocumentView;
class TokenView;
class SparseFullView;
class CostView;
class TourView;
class LabSession;
class TaskManager;
class FinetuneDashboard;
class ModelManager;
class ComputeBackendDialog;
namespace documents {
class DocumentsPanel;
}

struct LabOptions {
  MaskConfig pattern;
  QString modelDir;        // empty: the saved one, else the bundled default (if present)
  QString document;        // empty: the saved one (if any)
  bool useSettings = true; // restore and save layout, model, document and view settings
  bool autoLoadModel = true;
};

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  // A window on this pattern configuration that neither reads nor writes settings and loads no
  // model (tests, embedding).
  explicit MainWindow(const MaskConfig& pattern = {}, QWidget* parent = nullptr);
  explicit MainWindow(const LabOptions& options, QWidget* parent = nullptr);
  ~MainWindow() override;

  ImGuiWidget* imguiWidget() const { return widgetOf(kPattern); }  // null when OpenGL is unavailable
  MaskView* maskView() const { return maskView_; }                 // null when OpenGL is unavailable
  PatternGridView* patternGridView() const { return gridView_; }
  DocumentView* documentView() const { return documentView_; }
  TokenView* tokenView() const { return tokenView_; }
  SparseFullView* sparseFullView() const { return sparseView_; }
  CostView* costView() const { return costView_; }
  TourView* tourView() const { return tourView_; }
  LabSession* session() const { return session_; }
  TaskManager* tasks() const { return tasks_; }
  FinetuneDashboard* finetuneDashboard() const { return finetune_; }  // null when OpenGL is unavailable
  ModelManager* modelManager() const { return models_; }
  // The app's current model (chosen in the model manager): other views follow currentModelChanged.
  QString currentModel() const { return currentModel_; }
  void setCurrentModel(const QString& dir);
  documents::DocumentsPanel* documentsPanel() const { return documentsPanel_; }  // null when OpenGL is unavailable

  // Dock ids, also the keys of the saved layout.
  static constexpr const char* kPattern = "pattern";
  static constexpr const char* kLayers = "layers";
  static constexpr const char* kDocument = "document";
  static constexpr const char* kText = "text";
  static constexpr const char* kCompare = "compare";
  static constexpr const char* kCost = "cost";
  static constexpr const char* kTour = "tour";
  static constexpr const char* kFinetune = "finetune";
  static constexpr const char* kModels = "models";
  static constexpr const char* kRemote = "remote";
  static constexpr const char* kDocuments = "documents";
  ImGuiWidget* widgetOf(const char* dock) const;
  QDockWidget* dock(const char* id) const;
  void showDock(const char* id);

  void startTour();
  // Settings ▸ Compute Backend… (also a click on the status bar's backend label): applied on OK,
  // saved with the other settings.
  ComputeBackendDialog* showComputeBackendDialog();
  void loadModel(const QString& dir);
  void openDocument(const QString& path);
  // The view that File > Export acts on (the last one clicked or focused).
  ImGuiView* activeView() const;
  ImGuiWidget* activeWidget() const { return active_; }
  void setActiveWidget(ImGuiWidget* w) { active_ = w; }
  // Export the active view: kind = "png", "svg", "csv" or "json". Throws bb::Error on failure.
  void exportActive(const QString& kind, const QString& path);

 protected:
  void closeEvent(QCloseEvent* e) override;

 signals:
  void currentModelChanged(const QString& dir);

 private:
  void build(const LabOptions& options);
  ImGuiWidget* addPanel(const char* id, const QString& title, const QString& shortcut);
  void addModelDocks();  // the fine-tuning dashboard and the model manager (Qt widgets)
  void defaultLayout();
  void createMenus();
  void createStatusBar();
  void connectViews();
  void restoreSettings(const LabOptions& options);
  void saveSettings();
  // Saves the session (layout, pattern) shortly after it changes, so a crash loses nothing.
  void scheduleSave();
  void watchSessionChanges();
  void exportDialog(const QString& kind);
  void openDocumentDialog();
  void loadModelDialog();
  void setUiScale(float scale);
  void requestAllFrames();
  void showAbout();

  bool useSettings_ = false;
  std::map<std::string, QDockWidget*> docks_;
  std::map<std::string, ImGuiWidget*> widgets_;
  ImGuiWidget* active_ = nullptr;
  MaskView* maskView_ = nullptr;
  PatternGridView* gridView_ = nullptr;
  DocumentView* documentView_ = nullptr;
  TokenView* tokenView_ = nullptr;
  SparseFullView* sparseView_ = nullptr;
  CostView* costView_ = nullptr;
  TourView* tourView_ = nullptr;
  TaskManager* tasks_ = nullptr;
  LabSession* session_ = nullptr;
  documents::DocumentsPanel* documentsPanel_ = nullptr;
  QLabel* rendererLabel_ = nullptr;
  QLabel* taskLabel_ = nullptr;
  QProgressBar* taskProgress_ = nullptr;
  QToolButton* taskCancel_ = nullptr;
  float uiScale_ = 1.0f;
  FinetuneDashboard* finetune_ = nullptr;
  ModelManager* models_ = nullptr;
  QString currentModel_;
  QTimer* saveTimer_ = nullptr;
};

}  // namespace bb::ui
