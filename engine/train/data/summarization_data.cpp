#include "engine/train/data/summarization_data.h"

#include "engine/core/error.h"

namespace bb::train {

std::vector<SummaryPair> load_summarization(const std::string& path, const std::string& document_column,
                                            const std::string& summary_column, TableFormat format) {
  const TextTable t = read_text_table(path, format);
  if (t.rows.empty()) throw Error(path + ": empty dataset (no rows)");
  std::vector<SummaryPair> out;
  for (const TableRow& row : t.rows) {
    SummaryPair p;
    p.line = row.line;
    p.document = t.field(row, document_column);
    p.summary = t.field(row, summary_column);
    if (p.document.find_first_not_of(" \t\r\n") == std::string::npos)
      throw Error(path + ":" + std::to_string(row.line) + ": empty \"" + document_column + "\"");
    if (p.summary.find_first_not_of(" \t\r\n") == std::string::npos)
      throw Error(path + ":" + std::to_string(row.line) + ": empty \"" + summary_column + "\"");
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace bb::train
