#pragma once
// Constructed decoders for search tests: next-token logits are a pure function of the decoded prefix,
// so the best sequence under any scoring rule can be found by enumerating every sequence.
#include <cmath>
#include <cstdint>
#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <vector>

#include "engine/generate/decoder_session.h"

namespace bbtest {

using Prefix = std::vector<int64_t>;  // tokens fed so far (start token first)
using LogitsFn = std::function<std::vector<float>(int64_t item, const Prefix&)>;

class ToySource : public bb::gen::Seq2SeqSource {
 public:
  ToySource(int64_t batch, int64_t vocab, LogitsFn fn) : batch_(batch), vocab_(vocab), fn_(std::move(fn)) {}
  int64_t batch() const override { return batch_; }
  int64_t vocab_size() const override { return vocab_; }
  int64_t max_decoder_length() const override { return 1024; }
  int64_t steps = 0;  // total rows fed, for checking that frozen work stops

  std::unique_ptr<bb::gen::DecoderSession> start(int rows_per_item, int64_t, bool) override {
    return std::make_unique<Session>(*this, rows_per_item);
  }

 private:
  class Session : public bb::gen::DecoderSession {
   public:
    Session(ToySource& s, int per_item) : s_(s), per_item_(per_item), prefixes_(size_t(s.batch_ * per_item)) {}
    bb::Tensor step(const std::vector<int64_t>& tokens) override {
      const int64_t N = int64_t(prefixes_.size());
      bb::Tensor out({N, s_.vocab_});
      for (int64_t r = 0; r < N; ++r) {
        prefixes_[size_t(r)].push_back(tokens[size_t(r)]);
        const std::vector<float> l = s_.fn_(r / per_item_, prefixes_[size_t(r)]);
        for (int64_t v = 0; v < s_.vocab_; ++v) out[r * s_.vocab_ + v] = l[size_t(v)];
      }
      ++s_.steps;
      return out;
    }
    void reorder(const std::vector<int32_t>& src) override {
      std::vector<Prefix> next(src.size());
      for (size_t i = 0; i < src.size(); ++i) next[i] = prefixes_[size_t(src[i])];
      prefixes_ = std::move(next);
    }
    std::vector<float> cross_attention(int64_t row) const override {
      return {float(prefixes_[size_t(row)].size())};  // a marker: how long the row's prefix was
    }

   private:
    ToySource& s_;
    int per_item_;
    std::vector<Prefix> prefixes_;
  };

  int64_t batch_, vocab_;
  LogitsFn fn_;
};

// Deterministic pseudo-random logits in [-scale, scale] from a hash of (item, prefix); pad (0) unlikely.
inline LogitsFn hashed_logits(int64_t vocab, float scale, uint64_t seed) {
  return [=](int64_t item, const Prefix& p) {
    uint64_t h = seed ^ (uint64_t(item) * 0x9e3779b97f4a7c15ull);
    for (int64_t t : p) h = (h ^ uint64_t(t + 1)) * 0x100000001b3ull + 0x9e3779b97f4a7c15ull;
    std::vector<float> out(static_cast<size_t>(vocab));
    for (int64_t v = 0; v < vocab; ++v) {
      uint64_t x = h + uint64_t(v) * 0xbf58476d1ce4e5b9ull;
      x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
      x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
      x ^= x >> 31;
      out[size_t(v)] = (float(x >> 40) / 16777216.0f * 2.0f - 1.0f) * scale;
    }
    out[0] = -8.0f;  // token 0 is padding: a real decoder (almost) never emits it
    return out;
  };
}

// Logits that depend only on the position (no prefix effect): pruning cannot lose the optimum.
inline LogitsFn positional_logits(int64_t vocab, float scale, uint64_t seed) {
  const LogitsFn h = hashed_logits(vocab, scale, seed);
  return [=](int64_t item, const Prefix& p) { return h(item, Prefix(p.size(), 2)); };
}

inline std::vector<double> log_probs(const std::vector<float>& logits) {
  double mx = -INFINITY, sum = 0;
  for (float l : logits) mx = std::max(mx, double(l));
  for (float l : logits) sum += std::exp(double(l) - mx);
  std::vector<double> out;
  for (float l : logits) out.push_back(double(l) - mx - std::log(sum));
  return out;
}

struct Scored {
  std::vector<int64_t> tokens;  // generated tokens (EOS included when it ended with one)
  double score = -INFINITY;
};

// Enumerates every continuation of `start` with up to max_new tokens; `score(sum_logprob, tokens,
// ended_with_eos)` returns the sequence score or -inf when the sequence does not count.
inline Scored exhaustive_best(const LogitsFn& fn, int64_t item, int64_t start, int64_t eos, int64_t max_new,
                              const std::function<double(double, const std::vector<int64_t>&, bool)>& score) {
  Scored best;
  std::function<void(Prefix&, std::vector<int64_t>&, double)> walk = [&](Prefix& prefix, std::vector<int64_t>& gen,
                                                                         double sum) {
    const std::vector<double> lp = log_probs(fn(item, prefix));
    for (int64_t v = 0; v < int64_t(lp.size()); ++v) {
      gen.push_back(v);
      const double s = sum + lp[size_t(v)];
      const bool ended = v == eos;
      if (ended || int64_t(gen.size()) == max_new) {
        const double sc = score(s, gen, ended);
        if (sc > best.score) best = {gen, sc};
      }
      if (!ended && int64_t(gen.size()) < max_new) {
        prefix.push_back(v);
        walk(prefix, gen, s);
        prefix.pop_back();
      }
      gen.pop_back();
    }
  };
  Prefix prefix{start};
  std::vector<int64_t> gen;
  walk(prefix, gen, 0.0);
  return best;
}

}  // namespace bbtest
