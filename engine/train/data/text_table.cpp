#include "engine/train/data/text_table.h"

#include <algorithm>

#include "engine/core/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/json_strict.h"
#include "engine/tokenize/tokenizer.h"

namespace bb::train {

namespace {

std::string where(const std::string& path, int64_t line) { return path + ":" + std::to_string(line); }

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

TableFormat detect(const std::string& path) {
  if (ends_with(path, ".csv")) return TableFormat::CSV;
  if (ends_with(path, ".tsv") || ends_with(path, ".tab")) return TableFormat::TSV;
  if (ends_with(path, ".jsonl") || ends_with(path, ".ndjson") || ends_with(path, ".json")) return TableFormat::JSONL;
  throw Error(path + ": cannot tell the format from the extension (use .csv, .tsv or .jsonl, or pass the format)");
}

// Splits CSV text into records of fields; `lines` receives each record's starting line.
std::vector<std::vector<std::string>> split_csv(const std::string& text, const std::string& path,
                                                std::vector<int64_t>& lines) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  int64_t line = 1, start_line = 1;
  size_t i = 0;
  bool in_quotes = false, field_quoted = false, any = false;
  auto end_field = [&] {
    record.push_back(field);
    field.clear();
    field_quoted = false;
  };
  auto end_record = [&] {
    end_field();
    const bool blank = record.size() == 1 && record[0].empty() && !any;
    if (!blank) {
      records.push_back(record);
      lines.push_back(start_line);
    }
    record.clear();
    any = false;
  };
  while (i < text.size()) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          i += 2;
          continue;
        }
        in_quotes = false;
        ++i;
        if (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r')
          throw Error(where(path, line) + ": malformed CSV row: text after a closing quote");
        continue;
      }
      if (c == '\n') ++line;
      field += c;
      ++i;
      continue;
    }
    if (c == '"') {
      if (!field.empty() || field_quoted)
        throw Error(where(path, line) + ": malformed CSV row: quote inside an unquoted field");
      in_quotes = field_quoted = any = true;
      ++i;
      continue;
    }
    if (c == ',') {
      any = true;
      end_field();
      ++i;
      continue;
    }
    if (c == '\r' || c == '\n') {
      end_record();
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      ++i;
      ++line;
      start_line = line;
      continue;
    }
    any = true;
    field += c;
    ++i;
  }
  if (in_quotes) throw Error(where(path, start_line) + ": malformed CSV row: unterminated quoted field");
  if (any || !field.empty() || !record.empty()) end_record();
  return records;
}

TextTable from_records(const std::vector<std::vector<std::string>>& records, const std::vector<int64_t>& lines,
                       const std::string& path, const char* what) {
  TextTable t;
  t.path = path;
  if (records.empty()) throw Error(path + ": empty " + what + " file (no header row)");
  t.columns = records[0];
  for (size_t c = 0; c < t.columns.size(); ++c) {
    if (t.columns[c].empty())
      throw Error(where(path, lines[0]) + ": header column " + std::to_string(c + 1) + " has no name");
    if (std::count(t.columns.begin(), t.columns.end(), t.columns[c]) > 1)
      throw Error(where(path, lines[0]) + ": header names column \"" + t.columns[c] + "\" twice");
  }
  for (size_t r = 1; r < records.size(); ++r) {
    if (records[r].size() != t.columns.size())
      throw Error(where(path, lines[r]) + ": malformed row: " + std::to_string(records[r].size()) +
                  " fields, the header has " + std::to_string(t.columns.size()));
    TableRow row;
    row.line = lines[r];
    for (size_t c = 0; c < t.columns.size(); ++c) row.fields[t.columns[c]] = records[r][c];
    t.rows.push_back(std::move(row));
  }
  return t;
}

TextTable parse_tsv(const std::string& text, const std::string& path) {
  std::vector<std::vector<std::string>> records;
  std::vector<int64_t> lines;
  int64_t line = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string l = text.substr(pos, end - pos);
    ++line;
    if (!l.empty() && l.back() == '\r') l.pop_back();
    if (!l.empty()) {
      std::vector<std::string> fields;
      size_t s = 0;
      for (;;) {
        const size_t tab = l.find('\t', s);
        fields.push_back(l.substr(s, tab == std::string::npos ? std::string::npos : tab - s));
        if (tab == std::string::npos) break;
        s = tab + 1;
      }
      records.push_back(std::move(fields));
      lines.push_back(line);
    }
    if (end == text.size()) break;
    pos = end + 1;
  }
  return from_records(records, lines, path, "TSV");
}

TextTable parse_jsonl(const std::string& text, const std::string& path) {
  TextTable t;
  t.path = path;
  int64_t line = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string l = text.substr(pos, end - pos);
    pos = end + 1;
    ++line;
    if (l.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j;
    try {
      j = io::parse_json_strict(l, where(path, line));
    } catch (const Error& e) {
      throw Error(std::string(e.what()).find(path) == 0 ? e.what() : where(path, line) + ": " + e.what());
    }
    if (!j.is_object()) throw Error(where(path, line) + ": malformed row: expected a JSON object");
    TableRow row;
    row.line = line;
    for (const auto& [key, value] : j.items()) {
      std::string v;
      if (value.is_string())
        v = value.get<std::string>();
      else if (value.is_number_integer() || value.is_number_unsigned() || value.is_boolean())
        v = value.dump();
      else if (value.is_number_float())
        v = value.dump();
      else if (value.is_null())
        throw Error(where(path, line) + ": field \"" + key + "\" is null");
      else
        throw Error(where(path, line) + ": field \"" + key + "\" is not a string or number");
      row.fields[key] = v;
      if (std::find(t.columns.begin(), t.columns.end(), key) == t.columns.end()) t.columns.push_back(key);
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

}  // namespace

TableFormat parse_table_format(const std::string& s) {
  if (s == "auto") return TableFormat::Auto;
  if (s == "csv") return TableFormat::CSV;
  if (s == "tsv") return TableFormat::TSV;
  if (s == "jsonl") return TableFormat::JSONL;
  throw Error("unknown data format '" + s + "' (expected auto, csv, tsv or jsonl)");
}

const std::string& TextTable::field(const TableRow& row, const std::string& column) const {
  auto it = row.fields.find(column);
  if (it == row.fields.end()) throw Error(where(path, row.line) + ": row has no field \"" + column + "\"");
  return it->second;
}

TextTable parse_text_table(const std::string& text, const std::string& path, TableFormat format) {
  if (format == TableFormat::Auto) format = detect(path);
  try {
    tok::validate_utf8(text);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  switch (format) {
    case TableFormat::CSV: {
      std::vector<int64_t> lines;
      const auto records = split_csv(text, path, lines);
      return from_records(records, lines, path, "CSV");
    }
    case TableFormat::TSV:
      return parse_tsv(text, path);
    case TableFormat::JSONL:
      return parse_jsonl(text, path);
    case TableFormat::Auto:
      break;
  }
  throw Error(path + ": unknown format");
}

TextTable read_text_table(const std::string& path, TableFormat format) {
  return parse_text_table(io::read_text_file(path), path, format);
}

}  // namespace bb::train
