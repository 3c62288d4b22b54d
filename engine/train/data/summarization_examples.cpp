#include "engine/train/data/summarization_examples.h"

#include <algorithm>

#include "engine/core/error.h"

namespace bb::train {

namespace {

// HF truncation keeps the special tokens: cut the text, then end with EOS.
std::vector<int32_t> eos_terminated(std::vector<int32_t> ids, int32_t eos, int64_t max_len) {
  if (ids.empty() || ids.back() != eos) ids.push_back(eos);
  if (int64_t(ids.size()) > max_len) {
    ids.resize(size_t(max_len));
    ids.back() = eos;
  }
  return ids;
}

}  // namespace

std::vector<SummaryExample> tokenize_summaries(const std::vector<SummaryPair>& pairs, const tok::Tokenizer& tokenizer,
                                               int64_t max_source, int64_t max_target) {
  if (max_source < 2 || max_target < 2) throw Error("--max-length and --max-target-length must be at least 2");
  const int32_t eos = tokenizer.special_ids().eos;
  if (eos < 0) throw Error("the tokenizer has no EOS token; summarization needs the Pegasus tokenizer (spiece.model)");
  std::vector<SummaryExample> out;
  out.reserve(pairs.size());
  for (const SummaryPair& p : pairs) {
    SummaryExample e;
    e.line = p.line;
    e.summary = p.summary;
    e.source = eos_terminated(tokenizer.encode(p.document).ids, eos, max_source);
    e.target = eos_terminated(tokenizer.encode(p.summary).ids, eos, max_target);
    out.push_back(std::move(e));
  }
  return out;
}

Seq2SeqTrainBatch collate_summaries(const std::vector<const SummaryExample*>& rows, int64_t pad_id) {
  if (rows.empty()) throw Error("empty micro-batch");
  size_t L = 0, T = 0;
  for (const SummaryExample* e : rows) {
    L = std::max(L, e->source.size());
    T = std::max(T, e->target.size());
  }
  const int64_t B = int64_t(rows.size());
  Seq2SeqTrainBatch b;
  b.input_ids = I64Tensor({B, int64_t(L)});
  b.attention_mask = I64Tensor({B, int64_t(L)});
  b.labels = I64Tensor({B, int64_t(T)});
  for (int64_t r = 0; r < B; ++r) {
    const SummaryExample& e = *rows[size_t(r)];
    for (size_t t = 0; t < L; ++t) {
      const bool real = t < e.source.size();
      b.input_ids[r * int64_t(L) + int64_t(t)] = real ? e.source[t] : pad_id;
      b.attention_mask[r * int64_t(L) + int64_t(t)] = real ? 1 : 0;
    }
    for (size_t t = 0; t < T; ++t) b.labels[r * int64_t(T) + int64_t(t)] = t < e.target.size() ? e.target[t] : -100;
  }
  return b;
}

}  // namespace bb::train
