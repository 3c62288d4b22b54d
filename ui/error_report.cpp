#include "ui/error_report.h"

#include <QApplication>
#include <QClipboard>
#include <QDateTime>
#include <QDialogButtonBox>
#include <QDir>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSysInfo>
#include <QVBoxLayout>

#include "engine/core/xdg_dirs.h"
#include "engine/io/atomic_file.h"
#include "ui/app_dirs.h"

namespace bb::ui {

namespace {

// Best effort: a report that cannot be written is still shown and copyable.
QString saveReport(const QString& report) {
  try {
    const std::string dir = bb::xdg::ensure_dir(crashReportDir().toStdString());
    const QString name = QStringLiteral("error-%1.txt").arg(QDateTime::currentDateTimeUtc().toString(QStringLiteral("yyyyMMdd-HHmmss-zzz")));
    const QString path = QDir(QString::fromStdString(dir)).filePath(name);
    bb::io::write_file_atomic(path.toStdString(), report.toStdString());
    return path;
  } catch (const std::exception&) {
    return {};
  }
}

}  // namespace

QString buildErrorReport(const QString& context, const QString& error) {
  return QStringLiteral(
             "BigBird Studio %1 error report\n"
             "time:    %2\n"
             "system:  %3 (%4), Qt %5\n"
             "while:   %6\n"
             "error:   %7\n")
      .arg(QStringLiteral(BIGBIRD_VERSION), QDateTime::currentDateTimeUtc().toString(Qt::ISODate),
           QSysInfo::prettyProductName(), QSysInfo::currentCpuArchitecture(), QString::fromLatin1(qVersion()), context,
           error);
}

ErrorReportDialog::ErrorReportDialog(const QString& context, const QString& error, QWidget* parent)
    : QDialog(parent), report_(buildErrorReport(context, error)) {
  setWindowTitle(QStringLiteral("BigBird Studio: unexpected error"));
  savedPath_ = saveReport(report_);
  auto* layout = new QVBoxLayout(this);
  auto* intro = new QLabel(this);
  intro->setWordWrap(true);
  intro->setTextInteractionFlags(Qt::TextSelectableByMouse);
  intro->setText(QStringLiteral("<b>%1</b> failed unexpectedly. BigBird Studio is still running; your views and "
                                "settings are kept.<br>Please copy this report into a bug report.%2")
                     .arg(context.toHtmlEscaped(),
                          savedPath_.isEmpty() ? QString()
                                               : QStringLiteral("<br>Saved as <code>%1</code>.").arg(savedPath_.toHtmlEscaped())));
  layout->addWidget(intro);
  auto* text = new QPlainTextEdit(report_, this);
  text->setObjectName(QStringLiteral("report"));
  text->setReadOnly(true);
  text->setMinimumSize(560, 160);
  layout->addWidget(text);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
  QPushButton* copy = buttons->addButton(QStringLiteral("&Copy Report"), QDialogButtonBox::ActionRole);
  copy->setObjectName(QStringLiteral("copyReport"));
  connect(copy, &QPushButton::clicked, this, [this] { copyToClipboard(); });
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  layout->addWidget(buttons);
}

void ErrorReportDialog::copyToClipboard() const { QGuiApplication::clipboard()->setText(report_); }

ErrorReportDialog* showErrorReport(QWidget* parent, const QString& context, const QString& error) {
  auto* dialog = new ErrorReportDialog(context, error, parent);
  dialog->setAttribute(Qt::WA_DeleteOnClose);
  dialog->show();
  dialog->raise();
  return dialog;
}

}  // namespace bb::ui
