#include "ui/documents/summary_record.h"

#include <QFileInfo>
#include <QStringList>
#include <cstdio>

#include "engine/io/atomic_file.h"
#include "ui/compute_backend.h"

namespace bb::ui::documents {

QString SummaryRecord::title() const {
  return (document ? document->label : QStringLiteral("document")) + QStringLiteral(" · ") +
         finishedAt.toString(QStringLiteral("HH:mm:ss"));
}

QString summaryBackends(const bb::gen::SummaryResult& r) {
  QStringList parts;
  for (const bb::gen::ChunkSummary& ch : r.chunks) {
    if (ch.encoder_backend.empty() && ch.decoder_backend.empty()) continue;
    auto name = [](const std::string& used) { return used.empty() ? QStringLiteral("?") : describeUsed(used); };
    const QString part = QStringLiteral("Encoder: %1; decoder: %2").arg(name(ch.encoder_backend), name(ch.decoder_backend));
    if (!parts.contains(part)) parts << part;
  }
  return parts.join(QStringLiteral(" | "));
}

std::string summaryMarkdown(const SummaryRecord& r) {
  std::string md = "# Summary of " + (r.document ? r.document->label.toStdString() : std::string("document")) + "\n\n";
  md += r.result.summary + "\n\n---\n\n";
  if (!r.result.notice.empty()) md += "> Note: " + r.result.notice + "\n\n";
  char stats[256];
  std::snprintf(stats, sizeof stats, "*%lld document tokens · %d beam(s), max length %lld · %lld tokens generated in %.2f s*\n",
                (long long)r.result.document_tokens, r.beams, (long long)r.maxLength, (long long)r.result.generated_tokens,
                r.seconds);
  md += "*Model: " + QFileInfo(r.modelDir).fileName().toStdString() + " (BigBird-Pegasus) · " +
        r.finishedAt.toString(Qt::ISODate).toStdString() + "*\n\n" + stats;
  const QString backends = summaryBackends(r.result);
  if (!backends.isEmpty()) md += "\n*" + backends.toStdString() + "*\n";
  return md;
}

std::string summaryPlainText(const SummaryRecord& r) { return r.result.summary + "\n"; }

void exportSummary(const SummaryRecord& r, const QString& path) {
  const QString suffix = QFileInfo(path).suffix().toLower();
  const bool markdown = suffix == QStringLiteral("md") || suffix == QStringLiteral("markdown");
  bb::io::write_file_atomic(path.toStdString(), markdown ? summaryMarkdown(r) : summaryPlainText(r));
}

}  // namespace bb::ui::documents
