#include "engine/train/data/classification_data.h"

#include <algorithm>
#include <set>

#include "engine/core/error.h"

namespace bb::train {

namespace {
bool is_integer(const std::string& s) {
  if (s.empty() || s.size() > 18) return false;
  size_t i = s[0] == '-' ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

std::string trimmed(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}
}  // namespace

std::vector<std::string> label_set_of(const TextTable& table, const std::string& label_column) {
  std::set<std::string> unique;
  for (const TableRow& row : table.rows) {
    const std::string label = trimmed(table.field(row, label_column));
    if (label.empty()) throw Error(table.path + ":" + std::to_string(row.line) + ": empty label");
    unique.insert(label);
  }
  std::vector<std::string> labels(unique.begin(), unique.end());
  if (std::all_of(labels.begin(), labels.end(), is_integer))
    std::sort(labels.begin(), labels.end(),
              [](const std::string& a, const std::string& b) { return std::stoll(a) < std::stoll(b); });
  return labels;
}

std::vector<int32_t> encode_for_classification(const tok::Tokenizer& tokenizer, const std::string& text,
                                               int64_t max_length) {
  std::vector<int32_t> ids = tokenizer.encode(text).ids;
  if (max_length < 2) throw Error("max length must be at least 2");
  if (int64_t(ids.size()) > max_length) {
    const int32_t last = ids.back();  // the closing [SEP] / </s>
    ids.resize(size_t(max_length - 1));
    ids.push_back(last);
  }
  return ids;
}

ClassificationData load_classification(const std::string& path, const tok::Tokenizer& tokenizer,
                                       const ClassificationOptions& o, const std::vector<std::string>& labels) {
  const TextTable table = read_text_table(path, o.format);
  if (table.rows.empty()) throw Error(path + ": empty dataset (no rows)");
  if (labels.size() < 2)
    throw Error(path + ": classification needs at least 2 labels, found " + std::to_string(labels.size()));
  ClassificationData data;
  data.labels = labels;
  for (const TableRow& row : table.rows) {
    Example e;
    e.line = row.line;
    const std::string label = trimmed(table.field(row, o.label_column));
    const auto it = std::find(labels.begin(), labels.end(), label);
    if (it == labels.end()) {
      std::string set;
      for (size_t i = 0; i < labels.size() && i < 20; ++i) set += (i ? ", " : "") + labels[i];
      throw Error(path + ":" + std::to_string(row.line) + ": label \"" + label + "\" is not in the label set {" + set +
                  (labels.size() > 20 ? ", ..." : "") + "}");
    }
    e.label = int64_t(it - labels.begin());
    const std::string& text = table.field(row, o.text_column);
    try {
      e.ids = encode_for_classification(tokenizer, text, o.max_length);
    } catch (const Error& err) {
      throw Error(path + ":" + std::to_string(row.line) + ": " + err.what());
    }
    data.examples.push_back(std::move(e));
  }
  return data;
}

}  // namespace bb::train
