#pragma once
// Puts the Documents panel into a main window: its dock, drag-and-drop of files or text anywhere
// on the window, and the links to the Attention Lab (the lab's tokenizer counts tokens while no
// summarization model is loaded; "Show in Attention Lab" hands the text to the lab).
#include <QObject>

class QDockWidget;
class QMainWindow;
class QMenu;

namespace bb::ui {
class LabSession;
class TaskManager;
}  // namespace bb::ui

namespace bb::ui::documents {

class DocumentsPanel;

// Opens dropped local files (the first one) or dropped text in the panel and shows its dock.
class DocumentDropFilter : public QObject {
  Q_OBJECT

 public:
  DocumentDropFilter(DocumentsPanel* panel, QDockWidget* dock, QObject* parent);
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  DocumentsPanel* panel_;
  QDockWidget* dock_;
};

// Creates the panel in a dock named `dockId` (not yet placed: the window's layout does that),
// accepts drops on `window` and connects the lab session (may be null).
QDockWidget* createDocumentsDock(QMainWindow* window, const char* dockId, TaskManager* tasks, LabSession* session,
                                 bool persistent, DocumentsPanel** panel);

// File menu entries after "Open Document…": Open Recent (with Clear) and Paste as Document.
void addDocumentMenuEntries(QMenu* file, DocumentsPanel* panel);

}  // namespace bb::ui::documents
