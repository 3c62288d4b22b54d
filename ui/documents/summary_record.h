#pragma once
// One finished summarization of the session: what was summarized, with which model and settings,
// the engine's result and how long it took. Shared (immutable) between the view and the history.
#include <QDateTime>
#include <QString>
#include <memory>
#include <vector>

#include "engine/generate/summarizer.h"
#include "ui/documents/document_text.h"
#include "ui/documents/summary_passages.h"

namespace bb::ui::documents {

struct SummaryRecord {
  std::shared_ptr<const DocumentText> document;
  bb::gen::SummaryResult result;
  std::vector<SummarySentence> sentences;  // with their source passages when cross-attention was captured
  QString modelDir;
  int beams = 1;
  int64_t maxLength = 0;
  QDateTime finishedAt;
  double seconds = 0;  // wall time of the whole task
  QString title() const;  // "report.pdf · 14:03:12"
};

// Where the summary ran, per distinct encoder/decoder pair of its chunks: "Encoder: Vulkan · llvmpipe;
// decoder: CPU" (ui/compute_backend.h describeUsed forms); "" when the result does not say.
QString summaryBackends(const bb::gen::SummaryResult& r);

// "# Summary of report.pdf\n\n<summary>\n\n---\n*model … · beams … · n tokens in s*\n"
std::string summaryMarkdown(const SummaryRecord& r);
std::string summaryPlainText(const SummaryRecord& r);
// Writes Markdown for *.md / *.markdown and plain text otherwise, atomically. Throws bb::Error.
void exportSummary(const SummaryRecord& r, const QString& path);

}  // namespace bb::ui::documents
