#pragma once
// Rows of named text fields from CSV (RFC 4180: header row, quoted fields with "" escapes and
// embedded newlines), TSV (header row, tab-separated, no quoting) or JSON Lines (one object per
// line; string, number or boolean values). The format comes from the extension (.csv, .tsv, .jsonl,
// .json lines) unless given. Every error names the file and the 1-based line of the offending row.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace bb::train {

enum class TableFormat { Auto, CSV, TSV, JSONL };
TableFormat parse_table_format(const std::string& s);  // auto|csv|tsv|jsonl

struct TableRow {
  int64_t line = 0;  // 1-based line where the row starts
  std::map<std::string, std::string> fields;
};

struct TextTable {
  std::string path;
  std::vector<std::string> columns;  // CSV/TSV header; JSONL: union of keys in first-seen order
  std::vector<TableRow> rows;
  // The value of `column` in `row`; a missing column is an error naming file:line and the column.
  const std::string& field(const TableRow& row, const std::string& column) const;
};

TextTable read_text_table(const std::string& path, TableFormat format = TableFormat::Auto);
TextTable parse_text_table(const std::string& text, const std::string& path, TableFormat format);

}  // namespace bb::train
