// Every case of tests/data/tokenizers/cases.jsonl (HF slow tokenizers / raw SentencePiece goldens):
// ids, pieces, code point and byte offsets where the fixture gives them, token types for pairs.
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/tokenize/tokenizer.h"
#include "tokenizer_test_util.h"

using bb::tok::Flavor;
using nlohmann::json;

namespace {

std::vector<json> load_cases() {
  std::vector<json> cases;
  std::ifstream in(std::string(BIGBIRD_TEST_DATA) + "/tokenizers/cases.jsonl");
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) cases.push_back(json::parse(line));
  return cases;
}

const std::vector<json>& all_cases() {
  static const std::vector<json> cases = load_cases();
  return cases;
}

Flavor flavor_for(const json& c) {
  const std::string tok = c["tokenizer"], mode = c["mode"];
  if (tok == "gpt2.model") return Flavor::BigBirdSentencePiece;
  if (tok == "pegasus.model") return mode == "raw_pieces" ? Flavor::PegasusTF : Flavor::PegasusHF;
  return Flavor::WordPiece;
}

// The fixture names the files as shipped in resources/vocab.
std::string vocab_file(const json& c) { return c["tokenizer"].get<std::string>(); }

std::vector<std::pair<int64_t, int64_t>> spans(const json& j) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (const auto& s : j) out.emplace_back(s[0].get<int64_t>(), s[1].get<int64_t>());
  return out;
}

class TokenizerCase : public ::testing::TestWithParam<size_t> {};

TEST_P(TokenizerCase, MatchesGolden) {
  const json& c = all_cases().at(GetParam());
  const auto& tok = bb::tok::testing::cached_tokenizer(vocab_file(c), flavor_for(c));
  const std::string text = c["text"];
  const bool raw = c["mode"] == "raw_pieces";
  std::optional<std::string> pair;
  if (c.contains("text_pair")) pair = c["text_pair"].get<std::string>();

  const bb::tok::Encoding enc = raw ? tok.encode_raw(text) : tok.encode(text, pair);
  EXPECT_EQ(enc.ids, c["ids"].get<std::vector<int32_t>>());
  EXPECT_EQ(enc.pieces, c["pieces"].get<std::vector<std::string>>());
  ASSERT_EQ(enc.pieces.size(), enc.ids.size());
  ASSERT_EQ(enc.offsets.size(), enc.ids.size());
  ASSERT_EQ(enc.offsets_utf8.size(), enc.ids.size());
  ASSERT_EQ(enc.token_type_ids.size(), enc.ids.size());
  if (c.contains("offsets")) {
    EXPECT_EQ(enc.offsets, spans(c["offsets"]));
  }
  if (c.contains("offsets_utf8")) {
    EXPECT_EQ(enc.offsets_utf8, spans(c["offsets_utf8"]));
  }
  if (c.contains("token_type_ids")) {
    EXPECT_EQ(enc.token_type_ids, c["token_type_ids"].get<std::vector<int32_t>>());
  }
  for (size_t i = 0; i < enc.ids.size(); ++i) EXPECT_EQ(tok.id_to_piece(enc.ids[i]), enc.pieces[i]);

  // TF-convention Pegasus cases: `text` is the preprocessed `source_text`.
  if (c.contains("source_text")) {
    EXPECT_EQ(bb::tok::pegasus_tf_preprocess(c["source_text"]), text);
  }
}

std::string case_name(const ::testing::TestParamInfo<size_t>& info) {
  const json& c = all_cases().at(info.param);
  std::string tok = c["tokenizer"];
  tok = tok.substr(0, tok.find_first_of(".-"));
  std::string name = std::string(c["name"]) + "_" + tok + "_" + (c["mode"] == "raw_pieces" ? "raw" : "hf");
  for (char& ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return name;
}

std::vector<size_t> case_indices() {
  std::vector<size_t> idx(all_cases().size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  return idx;
}

INSTANTIATE_TEST_SUITE_P(Fixture, TokenizerCase, ::testing::ValuesIn(case_indices()), case_name);

TEST(TokenizerCases, AllFixtureCasesAreRun) {
  // Guards against a missing or truncated fixture silently running fewer cases.
  EXPECT_EQ(all_cases().size(), 227u);
  size_t with_offsets = 0;
  for (const auto& c : all_cases()) with_offsets += c.contains("offsets");
  EXPECT_GT(with_offsets, 100u);
}

}  // namespace
