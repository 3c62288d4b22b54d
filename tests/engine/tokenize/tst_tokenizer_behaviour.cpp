// Vocabulary facts, special-token splitting, decode, the TF Pegasus preprocessing and the
// speed of a 4096+-token document.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/core/error.h"
#include "engine/tokenize/special_split.h"
#include "engine/tokenize/tokenizer.h"
#include "tokenizer_test_util.h"

using bb::tok::Flavor;
using bb::tok::testing::cached_tokenizer;

namespace {

std::vector<std::string> split(const std::vector<std::string>& specials, const std::string& text) {
  bb::tok::SpecialSplitter s(specials);
  std::vector<std::string> out;
  for (const auto& seg : s.split(text)) out.push_back(text.substr(seg.begin, seg.end - seg.begin));
  return out;
}

TEST(SpecialSplit, LongestMatchAndMidWord) {
  using V = std::vector<std::string>;
  const V specials{"[CLS]", "extra_id_1", "extra_id_100"};
  EXPECT_EQ(split(specials, "[CLS] This is a extra_id_100"), (V{"[CLS]", " This is a ", "extra_id_100"}));
  EXPECT_EQ(split(specials, "a extra_id_1 b"), (V{"a ", "extra_id_1", " b"}));
  EXPECT_EQ(split({"[MASK]"}, "abc[MASK]def[MASK][MASK]"), (V{"abc", "[MASK]", "def", "[MASK]", "[MASK]"}));
  EXPECT_EQ(split({"AB", "B", "C"}, "ABC"), (V{"AB", "C"}));
  EXPECT_EQ(split({"ABC", "B", "CD"}, "ABCD"), (V{"ABC", "D"}));
  EXPECT_EQ(split({"<unk_1>", "<unk_10>", "<unk_102>"}, "x<unk_102>y<unk_10>"),
            (V{"x", "<unk_102>", "y", "<unk_10>"}));
  EXPECT_EQ(split({"[SEP]"}, "no specials [SEP"), (V{"no specials [SEP"}));
  EXPECT_TRUE(split({"[SEP]"}, "").empty());
  EXPECT_EQ(split({}, "text"), (V{"text"}));
}

TEST(SpecialIds, MatchTheSpec) {
  const auto bigbird = cached_tokenizer("gpt2.model", Flavor::BigBirdSentencePiece).special_ids();
  EXPECT_EQ(bigbird.pad, 0);
  EXPECT_EQ(bigbird.eos, 1);
  EXPECT_EQ(bigbird.bos, 2);
  EXPECT_EQ(bigbird.cls, 65);
  EXPECT_EQ(bigbird.sep, 66);
  EXPECT_EQ(bigbird.mask, 67);
  EXPECT_EQ(bigbird.unk, 100);

  const auto& hf = cached_tokenizer("pegasus.model", Flavor::PegasusHF);
  EXPECT_EQ(hf.vocab_size(), 96103);
  EXPECT_EQ(hf.special_ids().unk, 105);
  EXPECT_EQ(hf.special_ids().eos, 1);
  EXPECT_EQ(hf.id_to_piece(2), "<mask_1>");
  EXPECT_EQ(hf.id_to_piece(104), "<unk_102>");
  EXPECT_EQ(hf.id_to_piece(106), "<n>");
  EXPECT_EQ(hf.id_to_piece(107), ".");
  EXPECT_EQ(hf.id_to_piece(96102), "ospermum");
  EXPECT_EQ(hf.piece_to_id("<unk_2>"), 4);
  EXPECT_EQ(hf.piece_to_id("▁the"), 109);
  EXPECT_EQ(hf.piece_to_id("[MASK]"), std::nullopt);  // BigBird's inlined pieces are not in the HF model

  const auto& tf = cached_tokenizer("pegasus.model", Flavor::PegasusTF);
  EXPECT_EQ(tf.vocab_size(), 96103);
  EXPECT_EQ(tf.piece_to_id("[MASK]"), 67);
  EXPECT_EQ(tf.special_ids().unk, 105);

  const auto ko = cached_tokenizer("kobigbird-vocab.txt", Flavor::WordPiece).special_ids();
  EXPECT_EQ(ko.pad, 0);
  EXPECT_EQ(ko.unk, 1);
  EXPECT_EQ(ko.cls, 2);
  EXPECT_EQ(ko.sep, 3);
  EXPECT_EQ(ko.mask, 4);
  EXPECT_EQ(ko.bos, 5);
  EXPECT_EQ(ko.eos, 6);
}

TEST(Encode, PairOffsetsIndexTheSecondText) {
  const auto& tok = cached_tokenizer("gpt2.model", Flavor::BigBirdSentencePiece);
  const auto enc = tok.encode("Hi", std::string("there"));
  ASSERT_EQ(enc.pieces, (std::vector<std::string>{"[CLS]", "▁Hi", "[SEP]", "▁there", "[SEP]"}));
  EXPECT_EQ(enc.token_type_ids, (std::vector<int32_t>{0, 0, 0, 1, 1}));
  EXPECT_EQ(enc.offsets[3], (std::pair<int64_t, int64_t>{0, 5}));
  EXPECT_EQ(enc.offsets[0], (std::pair<int64_t, int64_t>{0, 0}));
}

TEST(Encode, SpecialStringOffsetsCoverTheirText) {
  const auto& tok = cached_tokenizer("gpt2.model", Flavor::BigBirdSentencePiece);
  const std::string text = "café is [MASK].";
  const auto enc = tok.encode(text);
  ASSERT_GE(enc.ids.size(), 4u);
  size_t mask = 0;
  while (mask < enc.ids.size() && enc.ids[mask] != 67) ++mask;
  ASSERT_LT(mask, enc.ids.size());
  EXPECT_EQ(enc.offsets[mask], (std::pair<int64_t, int64_t>{8, 14}));        // code points
  EXPECT_EQ(enc.offsets_utf8[mask], (std::pair<int64_t, int64_t>{9, 15}));   // bytes (é is two)
}

TEST(Encode, PegasusTfRejectsPairs) {
  const auto& tok = cached_tokenizer("pegasus.model", Flavor::PegasusTF);
  EXPECT_THROW(tok.encode("a", std::string("b")), bb::Error);
  EXPECT_EQ(tok.encode("Hello world").ids, tok.encode_raw("Hello world").ids);
}

TEST(Decode, BigBirdLikeHfSlowDecode) {
  const auto& tok = cached_tokenizer("gpt2.model", Flavor::BigBirdSentencePiece);
  const auto ids = tok.encode("The capital of France is [MASK].").ids;
  EXPECT_EQ(tok.decode(ids, false), "[CLS] The capital of France is[MASK] .[SEP]");
  EXPECT_EQ(tok.decode(ids, true), "The capital of France is[MASK] .");
  EXPECT_EQ(tok.decode(tok.encode_raw("Hello world. This is a test!").ids), "Hello world. This is a test!");
}

TEST(Decode, PegasusAndWordPiece) {
  const auto& hf = cached_tokenizer("pegasus.model", Flavor::PegasusHF);
  EXPECT_EQ(hf.decode(hf.encode("Hello world, BigBird handles 4096 tokens.").ids),
            "Hello world, BigBird handles 4096 tokens.");
  const auto& tf = cached_tokenizer("pegasus.model", Flavor::PegasusTF);
  const std::string doc = bb::tok::pegasus_tf_preprocess("First line.\nSecond line.");
  EXPECT_EQ(bb::tok::pegasus_tf_postprocess(tf.decode(tf.encode(doc).ids)), "First line.\nSecond line.");
  const auto& ko = cached_tokenizer("kobigbird-vocab.txt", Flavor::WordPiece);
  EXPECT_EQ(ko.decode(ko.encode("대한민국의 수도는 서울이다.").ids), "대한민국의 수도는 서울이다 .");
  EXPECT_EQ(ko.decode(ko.encode("Hello").ids, false), "[CLS] Hello [SEP]");
}

TEST(PegasusTf, Preprocess) {
  using bb::tok::pegasus_tf_preprocess;
  EXPECT_EQ(pegasus_tf_preprocess("a\nb\n\nc"), "a<n>b<n><n>c");
  EXPECT_EQ(pegasus_tf_preprocess("end.\n next"), "end.<n> next");
  EXPECT_EQ(pegasus_tf_preprocess("end. \nnext"), "end.<n>next");
  EXPECT_EQ(pegasus_tf_preprocess("see [CLS] here"), "see[CLS] here");
  EXPECT_EQ(pegasus_tf_preprocess("x <a>b>c d"), "x<a>b>c d");  // greedy: up to the last '>' of the run
  EXPECT_EQ(pegasus_tf_preprocess("x <> y"), "x <> y");         // needs a character between the brackets
  EXPECT_EQ(pegasus_tf_preprocess("x <ab y"), "x <ab y");       // no closing bracket in the run
  EXPECT_EQ(pegasus_tf_preprocess("a  <b>"), "a <b>");          // one space removed per match
  EXPECT_EQ(pegasus_tf_preprocess(""), "");
  EXPECT_EQ(bb::tok::pegasus_tf_postprocess("a<n>b<n>"), "a\nb\n");
}

std::string long_fixture_text(const std::string& name, const std::string& tokenizer) {
  std::ifstream in(std::string(BIGBIRD_TEST_DATA) + "/tokenizers/cases.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    const auto c = nlohmann::json::parse(line);
    if (c["name"] == name && c["tokenizer"] == tokenizer) return c["text"];
  }
  ADD_FAILURE() << "fixture case " << name << " not found";
  return "";
}

// A 4096+-token document must tokenize in milliseconds with an already loaded vocabulary.
TEST(Performance, LongDocumentIsFast) {
  struct Run {
    const char* file;
    Flavor flavor;
    const char* case_name;
  };
  const Run runs[] = {{"gpt2.model", Flavor::BigBirdSentencePiece, "long_pride_prejudice_ch1_3"},
                      {"pegasus.model", Flavor::PegasusHF, "long_pride_prejudice_ch1_3"},
                      {"pegasus.model", Flavor::PegasusTF, "long_pride_prejudice_ch1_3"},
                      {"kobigbird-vocab.txt", Flavor::WordPiece, "long_ko_news_plus_austen"}};
  for (const Run& r : runs) {
    const auto& tok = cached_tokenizer(r.file, r.flavor);
    const std::string text = long_fixture_text(r.case_name, r.file);
    const auto t0 = std::chrono::steady_clock::now();
    const auto enc = tok.encode(text);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_GT(enc.ids.size(), 4096u) << r.file;
    // Measured 2-5 ms on the 2-core dev VM; 250 ms leaves room for a loaded machine while still
    // catching anything quadratic.
    EXPECT_LT(ms, 250.0) << r.file << " " << bb::tok::to_string(r.flavor);
    std::printf("%-22s %-10s %6zu tokens in %.2f ms\n", r.file, bb::tok::to_string(r.flavor).c_str(), enc.ids.size(), ms);
  }
}

}  // namespace
