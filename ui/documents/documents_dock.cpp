#include "ui/documents/documents_dock.h"

#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileInfo>
#include <QMainWindow>
#include <QMenu>
#include <QMimeData>

#include "ui/documents/documents_panel.h"
#include "ui/lab_session.h"

namespace bb::ui::documents {

namespace {

QString firstLocalFile(const QMimeData* mime) {
  if (!mime || !mime->hasUrls()) return {};
  for (const QUrl& url : mime->urls())
    if (url.isLocalFile()) return url.toLocalFile();
  return {};
}

}  // namespace

DocumentDropFilter::DocumentDropFilter(DocumentsPanel* panel, QDockWidget* dock, QObject* parent)
    : QObject(parent), panel_(panel), dock_(dock) {}

bool DocumentDropFilter::eventFilter(QObject* watched, QEvent* event) {
  if (event->type() == QEvent::DragEnter || event->type() == QEvent::DragMove) {
    auto* e = static_cast<QDropEvent*>(event);
    if (!firstLocalFile(e->mimeData()).isEmpty() || e->mimeData()->hasText()) {
      e->acceptProposedAction();
      return true;
    }
  } else if (event->type() == QEvent::Drop) {
    auto* e = static_cast<QDropEvent*>(event);
    const QString file = firstLocalFile(e->mimeData());
    if (!file.isEmpty())
      panel_->openFile(file);
    else if (e->mimeData()->hasText())
      panel_->openText(QStringLiteral("Dropped text"), e->mimeData()->text());
    else
      return QObject::eventFilter(watched, event);
    e->acceptProposedAction();
    dock_->show();
    dock_->raise();
    return true;
  }
  return QObject::eventFilter(watched, event);
}

QDockWidget* createDocumentsDock(QMainWindow* window, const char* dockId, TaskManager* tasks, LabSession* session,
                                 bool persistent, DocumentsPanel** panel) {
  auto* p = new DocumentsPanel(tasks, persistent);
  auto* dock = new QDockWidget(QStringLiteral("Documents"), window);
  dock->setObjectName(QString::fromLatin1(dockId));
  dock->setWidget(p);
  dock->setFeatures(QDockWidget::DockWidgetClosable | QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable);
  dock->toggleViewAction()->setShortcut(QKeySequence(QStringLiteral("Ctrl+8")));
  window->setAcceptDrops(true);
  window->installEventFilter(new DocumentDropFilter(p, dock, p));
  if (session) {
    // One open document for the whole app: what the panel opens, the lab's views show too.
    QObject::connect(p, &DocumentsPanel::documentLoaded, session, [session, p] {
      if (const DocumentText* d = p->document()) session->setDocumentText(d->label, d->text);
    });
    QObject::connect(session, &LabSession::modelChanged, p, [session, p] {
      if (const LoadedModel* m = session->model())
        p->setEncoderModel(m->model, m->tokenizer, QFileInfo(m->dir).fileName() + QStringLiteral(" (Attention Lab model)"),
                           m->config().max_position_embeddings);
    });
  }
  *panel = p;
  return dock;
}

void addDocumentMenuEntries(QMenu* file, DocumentsPanel* panel) {
  QMenu* recent = file->addMenu(QStringLiteral("Open &Recent"));
  QObject::connect(recent, &QMenu::aboutToShow, panel, [recent, panel] {
    recent->clear();
    const QStringList paths = panel->recentFiles().paths();
    for (const QString& path : paths)
      recent->addAction(QFileInfo(path).fileName(), panel, [panel, path] {
        if (!QFileInfo(path).isFile()) panel->recentFiles().remove(path);
        panel->openFile(path);  // a missing file is reported in the panel
      })->setToolTip(path);
    if (paths.isEmpty()) recent->addAction(QStringLiteral("(none)"))->setEnabled(false);
    recent->addSeparator();
    recent->addAction(QStringLiteral("&Clear Recent Documents"), panel, [panel] { panel->recentFiles().clear(); })
        ->setEnabled(!paths.isEmpty());
  });
  QAction* paste = file->addAction(QStringLiteral("&Paste as Document"), panel, &DocumentsPanel::pasteFromClipboard);
  paste->setShortcut(QKeySequence(QStringLiteral("Ctrl+Shift+V")));
}

}  // namespace bb::ui::documents
