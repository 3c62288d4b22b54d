#include "ui/qt_theme.h"

#include <QApplication>
#include <QPalette>
#include <QStyleFactory>

namespace bb::ui {

void applyDarkQtTheme(QApplication& app) {
  app.setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
  const QColor window(33, 36, 42), base(28, 31, 36), text(222, 226, 232), muted(120, 127, 140);
  const QColor accent(74, 114, 170);
  QPalette p;
  p.setColor(QPalette::Window, window);
  p.setColor(QPalette::WindowText, text);
  p.setColor(QPalette::Base, base);
  p.setColor(QPalette::AlternateBase, window);
  p.setColor(QPalette::ToolTipBase, QColor(38, 42, 49));
  p.setColor(QPalette::ToolTipText, text);
  p.setColor(QPalette::PlaceholderText, muted);
  p.setColor(QPalette::Text, text);
  p.setColor(QPalette::Button, QColor(46, 51, 60));
  p.setColor(QPalette::ButtonText, text);
  p.setColor(QPalette::BrightText, QColor(255, 110, 110));
  p.setColor(QPalette::Link, QColor(120, 190, 255));
  p.setColor(QPalette::Highlight, accent);
  p.setColor(QPalette::HighlightedText, Qt::white);
  p.setColor(QPalette::Mid, QColor(55, 60, 70));
  p.setColor(QPalette::Dark, QColor(20, 22, 26));
  p.setColor(QPalette::Disabled, QPalette::Text, muted);
  p.setColor(QPalette::Disabled, QPalette::ButtonText, muted);
  p.setColor(QPalette::Disabled, QPalette::WindowText, muted);
  app.setPalette(p);
}

}  // namespace bb::ui
