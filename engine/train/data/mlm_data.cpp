#include "engine/train/data/mlm_data.h"

#include <algorithm>
#include <cmath>

#include "engine/core/error.h"
#include "engine/io/atomic_file.h"
#include "engine/train/dropout.h"

namespace bb::train {

namespace {

bool starts_word(const tok::Tokenizer& t, int32_t id, const std::string& piece) {
  if (t.flavor() == tok::Flavor::WordPiece) return piece.rfind("##", 0) != 0;
  return piece.rfind("\xE2\x96\x81", 0) == 0;  // SentencePiece "▁"
}

}  // namespace

std::vector<Example> mlm_examples_from_text(const std::string& text, const std::string& label,
                                            const tok::Tokenizer& tokenizer, const MlmOptions& o) {
  if (o.max_length < 3) throw Error("MLM max length must be at least 3");
  const tok::SpecialIds sp = tokenizer.special_ids();
  if (sp.cls < 0 || sp.sep < 0 || sp.mask < 0) throw Error("the tokenizer has no [CLS]/[SEP]/[MASK] tokens for MLM");
  std::vector<int32_t> ids;
  std::vector<uint8_t> starts;
  std::vector<int64_t> lines;
  int64_t line = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string l = text.substr(pos, end - pos);
    pos = end + 1;
    ++line;
    if (l.find_first_not_of(" \t\r") == std::string::npos) continue;
    tok::Encoding e;
    try {
      e = tokenizer.encode_raw(l);
    } catch (const Error& err) {
      throw Error(label + ":" + std::to_string(line) + ": " + err.what());
    }
    for (size_t i = 0; i < e.ids.size(); ++i) {
      ids.push_back(e.ids[i]);
      starts.push_back(starts_word(tokenizer, e.ids[i], e.pieces[i]) ? 1 : 0);
      lines.push_back(line);
    }
  }
  if (ids.empty()) throw Error(label + ": empty dataset (no text)");
  std::vector<Example> out;
  const int64_t window = o.max_length - 2;
  for (int64_t b = 0; b < int64_t(ids.size()); b += window) {
    const int64_t e = std::min<int64_t>(int64_t(ids.size()), b + window);
    Example ex;
    ex.line = lines[size_t(b)];
    ex.ids.push_back(sp.cls);
    ex.word_start.push_back(1);
    ex.ids.insert(ex.ids.end(), ids.begin() + b, ids.begin() + e);
    ex.word_start.insert(ex.word_start.end(), starts.begin() + b, starts.begin() + e);
    if (ex.word_start.size() > 1) ex.word_start[1] = 1;  // a window starts a word even mid-word
    ex.ids.push_back(sp.sep);
    ex.word_start.push_back(1);
    out.push_back(std::move(ex));
  }
  return out;
}

std::vector<Example> load_mlm_text(const std::vector<std::string>& paths, const tok::Tokenizer& tokenizer,
                                   const MlmOptions& o) {
  std::vector<Example> out;
  for (const std::string& p : paths) {
    std::vector<Example> e = mlm_examples_from_text(io::read_text_file(p), p, tokenizer, o);
    out.insert(out.end(), std::make_move_iterator(e.begin()), std::make_move_iterator(e.end()));
  }
  return out;
}

MaskingPolicy MaskingPolicy::for_tokenizer(const tok::Tokenizer& t, int64_t vocab_size, const MlmOptions& o) {
  MaskingPolicy p;
  p.probability = o.mask_probability;
  p.whole_word = o.whole_word;
  const tok::SpecialIds s = t.special_ids();
  p.mask_id = s.mask;
  p.vocab_size = std::min<int64_t>(vocab_size, t.vocab_size());
  for (int32_t id : {s.pad, s.unk, s.cls, s.sep, s.mask, s.bos, s.eos})
    if (id >= 0) p.special_ids.push_back(id);
  if (p.mask_id < 0) throw Error("the tokenizer has no [MASK] token");
  if (!(p.probability > 0.0 && p.probability < 1.0)) throw Error("mask probability must be in (0, 1)");
  return p;
}

void apply_masking(TrainBatch& batch, const std::vector<const Example*>& examples, const MaskingPolicy& policy,
                   uint64_t key) {
  const int64_t B = batch.input_ids.dim(0), L = batch.input_ids.dim(1);
  batch.labels = I64Tensor({B, L});
  batch.labels.fill(-100);
  auto special = [&](int32_t id) {
    return std::find(policy.special_ids.begin(), policy.special_ids.end(), id) != policy.special_ids.end();
  };
  for (int64_t r = 0; r < B; ++r) {
    const Example& ex = *examples[size_t(r)];
    const uint64_t rk = dropout_key(key, uint64_t(r));
    uint64_t draw = 0;
    auto uniform = [&] { return double(dropout_uniform(rk, draw++)); };
    const int64_t n = int64_t(ex.ids.size());
    // Candidate units: tokens, or whole words (runs starting at word_start), excluding specials.
    std::vector<std::pair<int64_t, int64_t>> units;
    int64_t maskable = 0;
    for (int64_t t = 0; t < n; ++t) {
      if (special(ex.ids[size_t(t)])) continue;
      ++maskable;
      const bool begins = !policy.whole_word || units.empty() || ex.word_start[size_t(t)] || units.back().second != t;
      if (begins)
        units.push_back({t, t + 1});
      else
        units.back().second = t + 1;
    }
    if (maskable == 0) continue;
    const int64_t target = std::max<int64_t>(1, int64_t(std::llround(double(maskable) * policy.probability)));
    // A seeded shuffle of the units, then take units until `target` tokens are chosen.
    std::vector<size_t> order(units.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[size_t(uniform() * double(i)) % i]);
    int64_t chosen = 0;
    for (size_t u : order) {
      if (chosen >= target) break;
      for (int64_t t = units[u].first; t < units[u].second; ++t) {
        const int64_t idx = r * L + t;
        batch.labels[idx] = ex.ids[size_t(t)];
        const double x = uniform();
        if (x < 0.8) {
          batch.input_ids[idx] = policy.mask_id;
        } else if (x < 0.9) {
          int32_t id;
          do id = int32_t(uniform() * double(policy.vocab_size)) % int32_t(policy.vocab_size);
          while (special(id));
          batch.input_ids[idx] = id;
        }
        ++chosen;
      }
    }
  }
}

}  // namespace bb::train
