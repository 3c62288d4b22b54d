#include "engine/train/metrics.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <sstream>

namespace bb::train {

ClassificationMetrics classification_metrics(const std::vector<int64_t>& pred, const std::vector<int64_t>& gold,
                                             int num_labels) {
  ClassificationMetrics m;
  if (gold.empty()) return m;
  std::vector<int64_t> tp(size_t(num_labels), 0), fp(size_t(num_labels), 0), fn(size_t(num_labels), 0);
  int64_t correct = 0;
  for (size_t i = 0; i < gold.size(); ++i) {
    if (pred[i] == gold[i]) {
      ++correct;
      ++tp[size_t(gold[i])];
    } else {
      if (pred[i] >= 0 && pred[i] < num_labels) ++fp[size_t(pred[i])];
      ++fn[size_t(gold[i])];
    }
  }
  m.accuracy = double(correct) / double(gold.size());
  auto f1 = [&](int c) {
    const double denom = double(2 * tp[size_t(c)] + fp[size_t(c)] + fn[size_t(c)]);
    return denom == 0.0 ? 0.0 : 2.0 * double(tp[size_t(c)]) / denom;
  };
  for (int c = 0; c < num_labels; ++c) m.macro_f1 += f1(c);
  m.macro_f1 /= num_labels;
  if (num_labels == 2) m.positive_f1 = f1(1);
  return m;
}

std::string normalize_answer(const std::string& s) {
  std::string lower;
  for (unsigned char c : s) {
    if (c < 0x80 && std::ispunct(c)) continue;  // ASCII punctuation, as string.punctuation
    lower += char(c < 0x80 ? std::tolower(c) : c);
  }
  std::istringstream in(lower);
  std::string word, out;
  while (in >> word) {
    if (word == "a" || word == "an" || word == "the") continue;
    if (!out.empty()) out += ' ';
    out += word;
  }
  return out;
}

namespace {
std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

double f1_one(const std::string& pred, const std::string& gold) {
  const std::vector<std::string> p = words(normalize_answer(pred)), g = words(normalize_answer(gold));
  if (p.empty() || g.empty()) return p.empty() && g.empty() ? 1.0 : 0.0;
  std::map<std::string, int64_t> counts;
  for (const std::string& w : g) ++counts[w];
  int64_t common = 0;
  for (const std::string& w : p)
    if (counts[w]-- > 0) ++common;
  if (common == 0) return 0.0;
  const double precision = double(common) / double(p.size()), recall = double(common) / double(g.size());
  return 2 * precision * recall / (precision + recall);
}

std::vector<std::string> rouge_tokens(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (unsigned char c : s) {
    const unsigned char l = c < 0x80 ? (unsigned char)std::tolower(c) : c;
    if ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9')) {
      cur += char(l);
    } else if (!cur.empty()) {
      out.push_back(cur);
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

double f_measure(int64_t overlap, int64_t pred, int64_t ref) {
  if (pred == 0 || ref == 0 || overlap == 0) return 0.0;
  const double p = double(overlap) / double(pred), r = double(overlap) / double(ref);
  return 2 * p * r / (p + r);
}

double rouge_n(const std::vector<std::string>& p, const std::vector<std::string>& r, size_t n) {
  auto grams = [n](const std::vector<std::string>& t) {
    std::map<std::vector<std::string>, int64_t> g;
    for (size_t i = 0; i + n <= t.size(); ++i)
      ++g[std::vector<std::string>(t.begin() + long(i), t.begin() + long(i + n))];
    return g;
  };
  const auto gp = grams(p), gr = grams(r);
  int64_t overlap = 0, np = 0, nr = 0;
  for (const auto& [k, c] : gp) {
    np += c;
    auto it = gr.find(k);
    if (it != gr.end()) overlap += std::min(c, it->second);
  }
  for (const auto& [k, c] : gr) nr += c;
  return f_measure(overlap, np, nr);
}

double rouge_l(const std::vector<std::string>& p, const std::vector<std::string>& r) {
  std::vector<std::vector<int64_t>> lcs(p.size() + 1, std::vector<int64_t>(r.size() + 1, 0));
  for (size_t i = 1; i <= p.size(); ++i)
    for (size_t j = 1; j <= r.size(); ++j)
      lcs[i][j] = p[i - 1] == r[j - 1] ? lcs[i - 1][j - 1] + 1 : std::max(lcs[i - 1][j], lcs[i][j - 1]);
  return f_measure(lcs[p.size()][r.size()], int64_t(p.size()), int64_t(r.size()));
}
}  // namespace

double exact_match(const std::string& prediction, const std::vector<std::string>& answers) {
  if (answers.empty()) return normalize_answer(prediction).empty() ? 1.0 : 0.0;
  for (const std::string& a : answers)
    if (normalize_answer(prediction) == normalize_answer(a)) return 1.0;
  return 0.0;
}

double token_f1(const std::string& prediction, const std::vector<std::string>& answers) {
  if (answers.empty()) return normalize_answer(prediction).empty() ? 1.0 : 0.0;
  double best = 0.0;
  for (const std::string& a : answers) best = std::max(best, f1_one(prediction, a));
  return best;
}

Rouge rouge(const std::string& prediction, const std::string& reference) {
  const std::vector<std::string> p = rouge_tokens(prediction), r = rouge_tokens(reference);
  return {rouge_n(p, r, 1), rouge_n(p, r, 2), rouge_l(p, r)};
}

}  // namespace bb::train
