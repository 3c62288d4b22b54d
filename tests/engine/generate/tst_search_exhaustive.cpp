// Search algorithms on constructed toy decoders where the best sequence is known by enumerating every
// sequence: HF beam search (wide enough never to prune, early_stopping "never") and the original TF
// beam search return the exhaustive optimum under their length penalties; greedy follows the argmax
// chain; narrow beams beat greedy where greedy is known to be wrong; EOS, min_length, forced EOS,
// n-gram blocking, streaming and cancellation behave as specified.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>

#include "engine/core/error.h"
#include "engine/generate/generate.h"
#include "engine/generate/logits_processors.h"
#include "tests/engine/generate/toy_model.h"

using namespace bb;
using bbtest::exhaustive_best;
using bbtest::hashed_logits;
using bbtest::ToySource;

namespace {

constexpr int64_t kVocab = 5, kPad = 0, kEos = 1, kStart = 2;

gen::GenerationConfig base_config(int beams, int64_t max_length) {
  gen::GenerationConfig g;
  g.num_beams = beams;
  g.max_length = max_length;
  g.pad_token_id = kPad;
  g.eos_token_id = kEos;
  g.decoder_start_token_id = kStart;
  return g;
}

// A table model: logits for a prefix are looked up by the generated tokens; unknown prefixes favour EOS.
bbtest::LogitsFn table_model(std::map<std::vector<int64_t>, std::vector<float>> table) {
  return [table](int64_t, const bbtest::Prefix& p) {
    const std::vector<int64_t> gen(p.begin() + 1, p.end());
    auto it = table.find(gen);
    if (it != table.end()) return it->second;
    std::vector<float> l(kVocab, -5.0f);
    l[kEos] = 5.0f;
    return l;
  };
}

std::vector<float> probs_to_logits(std::vector<double> p) {
  std::vector<float> l;
  for (double x : p) l.push_back(x > 0 ? float(std::log(x)) : -30.0f);
  return l;
}

}  // namespace

class HfBeamExhaustive : public ::testing::TestWithParam<std::tuple<double, uint64_t>> {};

TEST_P(HfBeamExhaustive, WideBeamEqualsExhaustiveOptimum) {
  const auto [lp, seed] = GetParam();
  const int64_t max_length = 5, max_new = max_length - 1;
  const bbtest::LogitsFn fn = hashed_logits(kVocab, 2.0f, seed);
  ToySource src(2, kVocab, fn);
  gen::GenerationConfig g = base_config(128, max_length);  // 4^3 running beams at most: nothing is pruned
  g.length_penalty = lp;
  g.early_stopping = gen::EarlyStopping::Never;  // with lp > 0 the stopping bound is exact
  const gen::GenerationResult r = gen::generate(src, g);
  for (int64_t item = 0; item < 2; ++item) {
    const bbtest::Scored best = exhaustive_best(fn, item, kStart, kEos, max_new, [&](double sum, const auto& toks, bool) {
      return sum / std::pow(double(toks.size()), lp);  // EOS counted; max-length beams use max_length-1
    });
    EXPECT_EQ(r.outputs[size_t(item)].tokens, best.tokens) << "item " << item;
    EXPECT_NEAR(r.outputs[size_t(item)].score, best.score, 1e-5) << "item " << item;
  }
}

INSTANTIATE_TEST_SUITE_P(LengthPenalties, HfBeamExhaustive,
                         ::testing::Combine(::testing::Values(0.5, 1.0, 2.0), ::testing::Values(1u, 7u, 42u)));

class TfBeamExhaustive : public ::testing::TestWithParam<std::tuple<double, uint64_t>> {};

// TF's search differs from HF's in a way a wide beam exposes: when fewer than M unfinished
// candidates exist (tiny vocabulary, M larger than the real beams), EOS-containing candidates tie
// with the -inf-like dead beams and stay alive, as in the TF graph. So the TF check uses a model
// where pruning cannot lose the optimum (logits depend on the position only) and M below the
// vocabulary: the finished pool must then hold the exact GNMT optimum.
TEST_P(TfBeamExhaustive, FindsTheExhaustiveGnmtOptimum) {
  const auto [alpha, seed] = GetParam();
  const int64_t max_length = 7, max_new = max_length - 1;
  const bbtest::LogitsFn fn = bbtest::positional_logits(kVocab, 2.5f, seed);
  for (bool all_steps : {false, true}) {
    ToySource src(2, kVocab, fn);
    gen::GenerationConfig g = base_config(3, max_length);
    g.beam_scoring = gen::BeamScoring::TF;
    g.length_penalty = alpha;
    g.tf_all_steps = all_steps;
    const gen::GenerationResult r = gen::generate(src, g);
    for (int64_t item = 0; item < 2; ++item) {
      const bbtest::Scored best = exhaustive_best(fn, item, kStart, kEos, max_new, [&](double sum, const auto& toks, bool eos) {
        return eos ? sum / std::pow((5.0 + double(toks.size())) / 6.0, alpha) : -INFINITY;
      });
      EXPECT_EQ(r.outputs[size_t(item)].tokens, best.tokens) << "item " << item << " all_steps " << all_steps;
      EXPECT_NEAR(r.outputs[size_t(item)].score, best.score, 1e-5);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Alphas, TfBeamExhaustive,
                         ::testing::Combine(::testing::Values(0.0, 0.8, 2.0), ::testing::Values(3u, 11u, 12u, 13u)));

TEST(TfBeam, EarlyExitGivesTheSameResultAsAllSteps) {
  // Narrow beams (pruning happens): stopping once finished slot 0 is settled changes nothing.
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const bbtest::LogitsFn fn = hashed_logits(7, 3.0f, seed);
    gen::GenerationConfig g = base_config(3, 12);
    g.beam_scoring = gen::BeamScoring::TF;
    g.length_penalty = 0.8;
    ToySource a(2, 7, fn), b(2, 7, fn);
    const gen::GenerationResult fast = gen::generate(a, g);
    g.tf_all_steps = true;
    const gen::GenerationResult full = gen::generate(b, g);
    EXPECT_EQ(full.steps, 11);
    for (size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(fast.outputs[i].sequence, full.outputs[i].sequence) << "seed " << seed;
      EXPECT_EQ(fast.outputs[i].score, full.outputs[i].score);
    }
  }
}

TEST(Greedy, FollowsTheArgmaxChainAndPadsFinishedRows) {
  const bbtest::LogitsFn fn = hashed_logits(kVocab, 2.0f, 5);
  ToySource src(3, kVocab, fn);
  const gen::GenerationResult r = gen::generate(src, base_config(1, 8));
  size_t width = 0;
  for (int64_t item = 0; item < 3; ++item) {
    bbtest::Prefix p{kStart};
    std::vector<int64_t> want;
    double sum = 0;
    while (int64_t(p.size()) < 8) {
      const std::vector<float> l = fn(item, p);
      const int64_t t = std::max_element(l.begin(), l.end()) - l.begin();
      sum += bbtest::log_probs(l)[size_t(t)];
      want.push_back(t);
      p.push_back(t);
      if (t == kEos) break;
    }
    const gen::GeneratedOutput& o = r.outputs[size_t(item)];
    EXPECT_EQ(o.tokens, want);
    EXPECT_NEAR(o.score, sum, 1e-5);
    EXPECT_EQ(o.sequence.front(), kStart);
    for (size_t i = want.size() + 1; i < o.sequence.size(); ++i) EXPECT_EQ(o.sequence[i], kPad);  // pad after EOS
    width = std::max(width, o.sequence.size());
  }
  for (const auto& o : r.outputs) EXPECT_EQ(o.sequence.size(), width);  // one rectangular batch
}

TEST(HfBeam, FindsTheSequenceGreedyMisses) {
  // Step 1: a = 0.6, b = 0.4. After a everything is flat (best continuation 0.3); after b, EOS = 0.9.
  // Greedy takes a (0.6 * 0.3 = 0.18 at best); two beams find b EOS (0.36).
  std::map<std::vector<int64_t>, std::vector<float>> t;
  t[{}] = probs_to_logits({0.0, 0.0, 0.0, 0.6, 0.4});
  t[{3}] = probs_to_logits({0.0, 0.3, 0.0, 0.25, 0.45});
  t[{3, 4}] = probs_to_logits({0.0, 0.4, 0.0, 0.3, 0.3});
  t[{4}] = probs_to_logits({0.0, 0.9, 0.0, 0.05, 0.05});
  const bbtest::LogitsFn fn = table_model(t);
  ToySource greedy_src(1, kVocab, fn), beam_src(1, kVocab, fn);
  const gen::GenerationResult greedy = gen::generate(greedy_src, base_config(1, 6));
  EXPECT_EQ(greedy.outputs[0].tokens, (std::vector<int64_t>{3, 4, 1}));
  gen::GenerationConfig g = base_config(2, 6);
  g.length_penalty = 0.0;  // plain probability
  const gen::GenerationResult beam = gen::generate(beam_src, g);
  EXPECT_EQ(beam.outputs[0].tokens, (std::vector<int64_t>{4, 1}));
  EXPECT_NEAR(beam.outputs[0].score, std::log(0.4 * 0.9), 1e-5);
}

TEST(HfBeam, LengthPenaltyDecidesBetweenShortAndLong) {
  // "3 EOS" has probability 0.5*0.5 = 0.25 (2 tokens); "4 4 4 EOS" has 0.5*0.9^3 = 0.3645 ... scaled
  // so that the short one wins on the sum and the long one once long sequences are rewarded.
  std::map<std::vector<int64_t>, std::vector<float>> t;
  t[{}] = probs_to_logits({0.0, 0.0, 0.0, 0.55, 0.45});
  t[{3}] = probs_to_logits({0.0, 0.6, 0.0, 0.2, 0.2});
  t[{4}] = probs_to_logits({0.0, 0.1, 0.0, 0.1, 0.8});
  t[{4, 4}] = probs_to_logits({0.0, 0.1, 0.0, 0.1, 0.8});
  t[{4, 4, 4}] = probs_to_logits({0.0, 0.95, 0.0, 0.025, 0.025});
  const bbtest::LogitsFn fn = table_model(t);
  for (double lp : {0.0, 1.0, 3.0}) {
    ToySource src(1, kVocab, fn);
    gen::GenerationConfig g = base_config(4, 8);
    g.length_penalty = lp;
    g.early_stopping = gen::EarlyStopping::Never;
    const gen::GenerationResult r = gen::generate(src, g);
    const bbtest::Scored best = exhaustive_best(fn, 0, kStart, kEos, 7, [&](double sum, const auto& toks, bool) {
      return sum / std::pow(double(toks.size()), lp);
    });
    EXPECT_EQ(r.outputs[0].tokens, best.tokens) << "lp " << lp;
    if (lp == 0.0) {
      EXPECT_EQ(r.outputs[0].tokens, (std::vector<int64_t>{3, 1}));
    }
    if (lp == 3.0) {
      EXPECT_EQ(r.outputs[0].tokens, (std::vector<int64_t>{4, 4, 4, 1}));
    }
  }
}

TEST(Processors, NoRepeatNgramBlocksRepeatsInBeamAndGreedy) {
  // The model loves "3 4 3 4 ...": with n = 2 no bigram may appear twice (start token included).
  auto fn = [](int64_t, const bbtest::Prefix& p) {
    std::vector<float> l(kVocab, 0.0f);
    l[kEos] = -4.0f;
    l[p.back() == 3 ? 4 : 3] = 6.0f;
    return l;
  };
  for (int beams : {1, 3}) {
    ToySource src(1, kVocab, fn);
    gen::GenerationConfig g = base_config(beams, 12);
    g.no_repeat_ngram_size = 2;
    const gen::GenerationResult r = gen::generate(src, g);
    const std::vector<int64_t>& s = r.outputs[0].sequence;
    std::set<std::pair<int64_t, int64_t>> seen;
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      if (s[i] == kPad || s[i + 1] == kPad) break;
      EXPECT_TRUE(seen.insert({s[i], s[i + 1]}).second) << "bigram repeated, beams " << beams;
    }
    ToySource free_src(1, kVocab, fn);
    g.no_repeat_ngram_size = 0;
    const gen::GenerationResult unblocked = gen::generate(free_src, g);
    EXPECT_EQ(unblocked.outputs[0].tokens[2], 3);  // without blocking the loop repeats
  }
  EXPECT_EQ(gen::banned_ngram_tokens({2, 3, 4, 3}, 2), (std::vector<int64_t>{4}));
  EXPECT_EQ(gen::banned_ngram_tokens({2, 3, 4, 3, 4}, 3), (std::vector<int64_t>{3}));
  EXPECT_TRUE(gen::banned_ngram_tokens({2, 3}, 3).empty());
}

TEST(Processors, MinLengthAndForcedEos) {
  auto eager_eos = [](int64_t, const bbtest::Prefix&) { return probs_to_logits({0.01, 0.9, 0.01, 0.04, 0.04}); };
  auto never_eos = [](int64_t, const bbtest::Prefix&) { return probs_to_logits({0.01, 0.0, 0.01, 0.5, 0.48}); };
  for (int beams : {1, 3}) {
    ToySource a(1, kVocab, eager_eos);
    gen::GenerationConfig g = base_config(beams, 20);
    g.min_length = 6;  // counts the start token: EOS is at best the 6th generated token
    const gen::GenerationResult r = gen::generate(a, g);
    EXPECT_EQ(r.outputs[0].tokens.size(), 6u) << "beams " << beams;
    EXPECT_TRUE(r.outputs[0].ends_with_eos);

    ToySource b(1, kVocab, never_eos);
    g = base_config(beams, 9);
    g.forced_eos_token_id = kEos;
    const gen::GenerationResult f = gen::generate(b, g);
    EXPECT_EQ(f.outputs[0].tokens.size(), 8u);  // max_length 9 = start + 7 tokens + forced EOS
    EXPECT_EQ(f.outputs[0].tokens.back(), kEos);

    ToySource c(1, kVocab, never_eos);
    g.forced_eos_token_id = -1;
    const gen::GenerationResult n = gen::generate(c, g);
    EXPECT_FALSE(n.outputs[0].ends_with_eos);
    EXPECT_EQ(n.outputs[0].sequence.size(), 9u);  // stopped by max_length
  }
}

TEST(HfBeam, EarlyStoppingTrueStopsAtTheFirstFullHypothesisList) {
  const bbtest::LogitsFn fn = hashed_logits(kVocab, 1.0f, 9);
  ToySource eager(1, kVocab, fn), never(1, kVocab, fn);
  gen::GenerationConfig g = base_config(2, 30);
  g.early_stopping = gen::EarlyStopping::True;
  const gen::GenerationResult a = gen::generate(eager, g);
  g.early_stopping = gen::EarlyStopping::Never;
  const gen::GenerationResult b = gen::generate(never, g);
  EXPECT_LE(a.steps, b.steps);
  EXPECT_GE(b.outputs[0].score, a.outputs[0].score - 1e-12);  // "never" searches at least as well here
}

TEST(Streaming, CallbackSeesEveryStepAndCanCancel) {
  const bbtest::LogitsFn fn = [](int64_t, const bbtest::Prefix& p) {
    std::vector<float> l(kVocab, 0.0f);
    l[3 + p.size() % 2] = 3.0f;  // never EOS
    return l;
  };
  for (int beams : {1, 3}) {
    ToySource src(1, kVocab, fn);
    gen::GenerationConfig g = base_config(beams, 50);
    std::vector<size_t> lengths;
    gen::GenerationControl control;
    control.on_step = [&](const gen::StepUpdate& u) {
      lengths.push_back((*u.partial)[0].size());
      EXPECT_EQ(u.beam, beams > 1);
      EXPECT_EQ(u.max_steps, 49);
      return u.step < 4;  // stop after the 4th step
    };
    const gen::GenerationResult r = gen::generate(src, g, control);
    EXPECT_TRUE(r.cancelled);
    EXPECT_EQ(r.steps, 4);
    EXPECT_EQ(lengths, (std::vector<size_t>{1, 2, 3, 4}));
    EXPECT_EQ(r.outputs[0].tokens.size(), 4u);
    EXPECT_FALSE(r.outputs[0].ends_with_eos);

    std::atomic<bool> cancel{true};
    gen::GenerationControl flag;
    flag.cancel = &cancel;
    ToySource src2(1, kVocab, fn);
    const gen::GenerationResult none = gen::generate(src2, g, flag);
    EXPECT_TRUE(none.cancelled);
    EXPECT_EQ(none.steps, 0);
  }
}

TEST(HfBeam, CrossAttentionFollowsTheChosenHypothesis) {
  // The toy session reports the prefix length as "attention": token i of the result must carry i+1.
  const bbtest::LogitsFn fn = hashed_logits(kVocab, 1.5f, 3);
  for (auto scoring : {gen::BeamScoring::HF, gen::BeamScoring::TF}) {
    ToySource src(2, kVocab, fn);
    gen::GenerationConfig g = base_config(3, 10);
    g.beam_scoring = scoring;
    g.capture_cross_attention = true;
    const gen::GenerationResult r = gen::generate(src, g);
    for (const gen::GeneratedOutput& o : r.outputs) {
      ASSERT_EQ(o.cross_attention.size(), o.tokens.size());
      for (size_t i = 0; i < o.tokens.size(); ++i) EXPECT_EQ(o.cross_attention[i], std::vector<float>{float(i + 1)});
    }
  }
}

TEST(GenerationConfig, RejectsSettingsThatCannotRun) {
  ToySource src(1, kVocab, hashed_logits(kVocab, 1.0f, 1));
  auto bad = [&](auto edit) {
    gen::GenerationConfig g = base_config(2, 10);
    edit(g);
    EXPECT_THROW(gen::generate(src, g), Error);
  };
  bad([](gen::GenerationConfig& g) { g.num_beams = 0; });
  bad([](gen::GenerationConfig& g) { g.max_length = 1; });
  bad([](gen::GenerationConfig& g) { g.eos_token_id = kVocab; });
  bad([](gen::GenerationConfig& g) { g.decoder_start_token_id = -1; });
  bad([](gen::GenerationConfig& g) { g.max_length = 5000; });
  bad([](gen::GenerationConfig& g) { g.length_penalty = NAN; });
  bad([](gen::GenerationConfig& g) {
    g.beam_scoring = gen::BeamScoring::TF;
    g.no_repeat_ngram_size = 3;
  });
  EXPECT_THROW(gen::parse_early_stopping("maybe"), Error);
  EXPECT_THROW(gen::parse_beam_scoring("gnmt"), Error);
}
