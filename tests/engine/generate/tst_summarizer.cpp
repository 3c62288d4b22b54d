// The document -> summary pipeline on a tiny random BigBird-Pegasus with the real vocabulary: bad
// documents (empty, whitespace-only, binary, not UTF-8), documents longer than 4096 tokens
// (truncate with a notice, chunk-and-merge, refuse), tokenizer conventions, progress, cancellation,
// cross-attention over the input, and config-driven generation defaults.
#include <gtest/gtest.h>

#include <atomic>

#include "engine/core/error.h"
#include "engine/generate/summarizer.h"
#include "tests/engine/generate/tiny_pegasus.h"

using namespace bb;

namespace {

bbtest::TinyPegasusCleanup cleanup;

struct Fixture {
  PegasusModel model = PegasusModel::load(bbtest::tiny_pegasus_dir());
  std::unique_ptr<tok::Tokenizer> hf = tok::load_tokenizer(bbtest::pegasus_vocab(), tok::Flavor::PegasusHF);
  std::unique_ptr<tok::Tokenizer> tf = tok::load_tokenizer(bbtest::pegasus_vocab(), tok::Flavor::PegasusTF);
};

Fixture& fx() {
  static Fixture f;
  return f;
}

gen::SummarizeOptions quick(int beams = 1, int64_t max_length = 6) {
  gen::SummarizeOptions o;
  o.generation = gen::generation_config_for(fx().model.config());
  o.generation.num_beams = beams;
  o.generation.max_length = max_length;
  return o;
}

std::string long_document(int sentences) {
  std::string s;
  for (int i = 0; i < sentences; ++i)
    s += "Sentence number " + std::to_string(i) + " describes the sparse attention of long documents.\n";
  return s;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Summarizer, RejectsDocumentsWithNothingToSummarize) {
  Fixture& f = fx();
  auto run = [&](const std::string& text) { return error_of([&] { gen::summarize(f.model, *f.hf, text, quick()); }); };
  EXPECT_NE(run("").find("empty"), std::string::npos);
  EXPECT_NE(run(" \n\t  \r\n").find("only whitespace"), std::string::npos);
  EXPECT_NE(run("\xc2\xa0\xe3\x80\x80 \n").find("only whitespace"), std::string::npos);  // NBSP, ideographic space
  EXPECT_NE(run(std::string("PK\x03\x04\0\0binary", 12)).find("binary"), std::string::npos);
  EXPECT_NE(run("caf\xe9 latin-1").find("not UTF-8"), std::string::npos);
  for (const std::string& msg : {run(""), run("  "), run(std::string("a\0b", 3))}) EXPECT_EQ(msg.find('\n'), std::string::npos);
}

TEST(Summarizer, ShortDocumentHfConvention) {
  Fixture& f = fx();
  std::vector<gen::SummaryProgress> seen;
  const gen::SummaryResult r = gen::summarize(f.model, *f.hf, "BigBird reads long documents.\nIt is sparse.", quick(2, 6),
                                              [&](const gen::SummaryProgress& p) { seen.push_back(p); });
  ASSERT_EQ(r.chunks.size(), 1u);
  const gen::ChunkSummary& ch = r.chunks[0];
  EXPECT_FALSE(r.truncated);
  EXPECT_TRUE(r.notice.empty());
  EXPECT_EQ(ch.input_ids.back(), 1);  // HF PegasusTokenizer appends </s>
  EXPECT_EQ(r.document_tokens, int64_t(ch.input_ids.size()));
  EXPECT_EQ(std::count(ch.input_ids.begin(), ch.input_ids.end(), 106), 0);  // HF: newline is a space, no <n>
  EXPECT_FALSE(ch.summary_ids.empty());
  EXPECT_LE(ch.summary_ids.size(), 5u);
  EXPECT_EQ(r.generated_tokens, int64_t(ch.summary_ids.size()));
  EXPECT_EQ(ch.decision.type, attn::AttentionType::OriginalFull);  // short input: HF's full-attention fallback
  // progress: every encoder layer, then every decoder step
  int layers = 0, steps = 0;
  for (const auto& p : seen) {
    if (p.stage == gen::SummaryProgress::Stage::Encoding && p.layers_done > 0) ++layers;
    if (p.stage == gen::SummaryProgress::Stage::Decoding) ++steps;
  }
  EXPECT_EQ(layers, f.model.config().num_hidden_layers);
  EXPECT_EQ(steps, ch.decoder_steps);
}

TEST(Summarizer, TfConventionMapsNewlinesAndAddsNoEos) {
  Fixture& f = fx();
  const gen::SummaryResult r = gen::summarize(f.model, *f.tf, "First line.\nSecond line.", [] {
    gen::SummarizeOptions o = quick();
    o.convention = gen::InputConvention::TF;
    return o;
  }());
  const auto& ids = r.chunks[0].input_ids;
  EXPECT_NE(ids.back(), 1);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 106), 1);  // "<n>"
  EXPECT_NE(error_of([&] { gen::summarize(f.model, *f.hf, "text", [] {
              gen::SummarizeOptions o = quick();
              o.convention = gen::InputConvention::TF;
              return o;
            }()); }).find("pegasus-tf"), std::string::npos);
}

TEST(Summarizer, LongDocumentsAreTruncatedWithANoticeChunkedOrRefused) {
  Fixture& f = fx();
  const std::string text = long_document(700);  // about 10 tokens per sentence: > 4096 tokens
  gen::SummarizeOptions o = quick(1, 4);
  const gen::SummaryResult t = gen::summarize(f.model, *f.hf, text, o);
  ASSERT_GT(t.document_tokens, 4096);
  EXPECT_TRUE(t.truncated);
  EXPECT_NE(t.notice.find(std::to_string(t.document_tokens) + " tokens"), std::string::npos) << t.notice;
  ASSERT_EQ(t.chunks.size(), 1u);
  EXPECT_EQ(t.chunks[0].input_ids.size(), 4096u);
  EXPECT_EQ(t.chunks[0].input_ids.back(), 1);
  EXPECT_EQ(t.chunks[0].decision.type, attn::AttentionType::BlockSparse);

  o.long_document = gen::LongDocument::Chunk;
  const gen::SummaryResult c = gen::summarize(f.model, *f.hf, text, o);
  EXPECT_FALSE(c.truncated);
  EXPECT_FALSE(c.notice.empty());
  ASSERT_GE(c.chunks.size(), 2u);
  int64_t covered = 0;
  for (const gen::ChunkSummary& ch : c.chunks) {
    EXPECT_EQ(ch.first_token, covered);  // consecutive, nothing skipped
    EXPECT_LE(ch.input_ids.size(), 4096u);
    EXPECT_EQ(ch.input_ids.back(), 1);
    covered = ch.end_token;
  }
  EXPECT_EQ(covered + 1, c.document_tokens);  // every token but the final </s> is in some chunk
  EXPECT_EQ(std::count(c.summary.begin(), c.summary.end(), '\n') + 1 >= int64_t(c.chunks.size()), true);

  o.long_document = gen::LongDocument::Refuse;
  EXPECT_NE(error_of([&] { gen::summarize(f.model, *f.hf, text, o); }).find("at most 4096"), std::string::npos);

  o.long_document = gen::LongDocument::Truncate;
  o.max_input_tokens = 700;  // a smaller budget is honoured too
  const gen::SummaryResult s = gen::summarize(f.model, *f.hf, text, o);
  EXPECT_EQ(s.chunks[0].input_ids.size(), 700u);
  EXPECT_TRUE(s.truncated);
}

TEST(Summarizer, CancelStopsDecodingAndCrossAttentionCoversTheInput) {
  Fixture& f = fx();
  gen::SummarizeOptions o = quick(3, 30);
  o.generation.min_length = 30;  // never finishes on its own before max_length
  o.generation.capture_cross_attention = true;
  std::atomic<bool> cancel{false};
  int64_t steps = 0;
  const gen::SummaryResult r = gen::summarize(f.model, *f.hf, "A short document about attention.", o,
                                              [&](const gen::SummaryProgress& p) {
                                                if (p.stage == gen::SummaryProgress::Stage::Decoding) {
                                                  steps = p.tokens_generated;
                                                  if (steps == 3) cancel = true;
                                                }
                                              },
                                              &cancel);
  EXPECT_TRUE(r.cancelled);
  EXPECT_EQ(steps, 3);
  const gen::ChunkSummary& ch = r.chunks[0];
  EXPECT_EQ(ch.summary_ids.size(), 3u);
  ASSERT_EQ(ch.cross_attention.size(), ch.summary_ids.size());
  for (const auto& w : ch.cross_attention) {
    ASSERT_EQ(w.size(), ch.input_ids.size());
    double sum = 0;
    for (float x : w) sum += x;
    EXPECT_NEAR(sum, 1.0, 1e-4);
  }
  EXPECT_EQ(ch.input_spans.size(), ch.input_ids.size());
}

TEST(Summarizer, GenerationDefaultsComeFromTheModelConfig) {
  ModelConfig c = fx().model.config();
  c.extra["num_beams"] = "5";
  c.extra["max_length"] = "256";
  c.extra["length_penalty"] = "0.8";
  c.extra["early_stopping"] = "true";
  c.extra["no_repeat_ngram_size"] = "3";
  const gen::GenerationConfig g = gen::generation_config_for(c);
  EXPECT_EQ(g.num_beams, 5);
  EXPECT_EQ(g.max_length, 256);
  EXPECT_DOUBLE_EQ(g.length_penalty, 0.8);
  EXPECT_EQ(g.early_stopping, gen::EarlyStopping::True);
  EXPECT_EQ(g.no_repeat_ngram_size, 3);
  EXPECT_EQ(g.decoder_start_token_id, 2);
  EXPECT_EQ(g.eos_token_id, 1);
  c.extra["num_beams"] = "\"five\"";
  EXPECT_THROW(gen::generation_config_for(c), Error);
}
