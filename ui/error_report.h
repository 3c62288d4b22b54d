#pragma once
// What the user sees when something fails unexpectedly (an exception that is not a bb::Error, in a
// background task or an event handler): a non-modal dialog with a plain-text report to copy into a
// bug report, also saved under ~/.local/share/bigbird-studio/reports. The app keeps running.
#include <QDialog>
#include <QString>

class QPlainTextEdit;

namespace bb::ui {

// Version, Qt, OS, time, what was running and the error, as plain text.
QString buildErrorReport(const QString& context, const QString& error);

class ErrorReportDialog : public QDialog {
  Q_OBJECT

 public:
  ErrorReportDialog(const QString& context, const QString& error, QWidget* parent = nullptr);
  QString report() const { return report_; }
  QString savedPath() const { return savedPath_; }  // empty when the report could not be saved
  void copyToClipboard() const;

 private:
  QString report_, savedPath_;
};

// Shows a new ErrorReportDialog (deleted on close) and returns it.
ErrorReportDialog* showErrorReport(QWidget* parent, const QString& context, const QString& error);

}  // namespace bb::ui
