// Training data: CSV / TSV / JSONL tables, classification labels, SQuAD windows and answer
// mapping, MLM windows and masking, summarization pairs, metrics — and every kind of bad input
// (malformed rows with their line, unknown labels, empty datasets, answers not in the context).
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "engine/core/error.h"
#include "engine/tokenize/tokenizer.h"
#include "engine/train/data/classification_data.h"
#include "engine/train/data/mlm_data.h"
#include "engine/train/data/squad_data.h"
#include "engine/train/data/summarization_data.h"
#include "engine/train/data/text_table.h"
#include "engine/train/metrics.h"
#include "tests/engine/train/finetune_test_util.h"

using namespace bb;
using namespace bb::train;

namespace {

const tok::Tokenizer& gpt2() {
  static std::unique_ptr<tok::Tokenizer> t =
      tok::load_tokenizer(std::string(BIGBIRD_RESOURCE_DIR) + "/vocab/gpt2.model");
  return *t;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(TextTable, CsvQuotingAndEmbeddedNewlines) {
  const TextTable t =
      parse_text_table("text,label\n\"a, \"\"quoted\"\"\nline\",1\nplain,0\r\n\n", "x.csv", TableFormat::Auto);
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.field(t.rows[0], "text"), "a, \"quoted\"\nline");
  EXPECT_EQ(t.rows[1].line, 4);  // the first row spans lines 2-3
  EXPECT_EQ(t.field(t.rows[1], "label"), "0");
}

TEST(TextTable, TsvAndJsonl) {
  const TextTable tsv = parse_text_table("text\tlabel\nhello world\tpos\n", "x.tsv", TableFormat::Auto);
  EXPECT_EQ(tsv.field(tsv.rows[0], "text"), "hello world");
  const TextTable js = parse_text_table("{\"text\": \"hi\", \"label\": 2}\n\n{\"text\": \"yo\", \"label\": \"neg\"}\n",
                                        "x.jsonl", TableFormat::Auto);
  ASSERT_EQ(js.rows.size(), 2u);
  EXPECT_EQ(js.field(js.rows[0], "label"), "2");
  EXPECT_EQ(js.rows[1].line, 3);
}

TEST(TextTable, MalformedRowsNameTheirLine) {
  EXPECT_NE(error_of([] {
              parse_text_table("text,label\nok,1\n\"open quote,1\n", "d.csv", TableFormat::CSV);
            }).find("d.csv:3: malformed CSV row"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              parse_text_table("text,label\nok,1\ntoo,many,fields\n", "d.csv", TableFormat::CSV);
            }).find("d.csv:3: malformed row: 3 fields"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_text_table("a\tb\nx\n", "d.tsv", TableFormat::TSV); }).find("d.tsv:2:"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              parse_text_table("{\"text\": \"a\"}\n{\"text\": oops}\n", "d.jsonl", TableFormat::JSONL);
            }).find("d.jsonl:2"),
            std::string::npos);
  EXPECT_NE(
      error_of([] { parse_text_table("[1, 2]\n", "d.jsonl", TableFormat::JSONL); }).find("d.jsonl:1: malformed row"),
      std::string::npos);
  const TextTable t = parse_text_table("text\nabc\n", "d.csv", TableFormat::CSV);
  EXPECT_NE(error_of([&] { t.field(t.rows[0], "label"); }).find("d.csv:2: row has no field \"label\""),
            std::string::npos);
  EXPECT_THROW(parse_text_table("x", "d.parquet", TableFormat::Auto), Error);
}

TEST(Classification, LabelsTokensAndBadInput) {
  const std::string dir = bbtest::scratch_dir("data-cls");
  bbtest::write_text(dir + "/train.csv", "text,label\ngood film,pos\nbad film,neg\nfine,pos\n");
  bbtest::write_text(dir + "/eval.csv", "text,label\nok,pos\nweird,maybe\n");
  bbtest::write_text(dir + "/empty.csv", "text,label\n");
  bbtest::write_text(dir + "/num.csv", "text,label\na,10\nb,2\nc,10\n");
  const std::vector<std::string> labels = label_set_of(read_text_table(dir + "/train.csv"), "label");
  EXPECT_EQ(labels, (std::vector<std::string>{"neg", "pos"}));
  EXPECT_EQ(label_set_of(read_text_table(dir + "/num.csv"), "label"), (std::vector<std::string>{"2", "10"}));
  ClassificationOptions o;
  o.max_length = 4;
  const ClassificationData d = load_classification(dir + "/train.csv", gpt2(), o, labels);
  ASSERT_EQ(d.examples.size(), 3u);
  EXPECT_EQ(d.examples[0].label, 1);
  EXPECT_EQ(d.examples[1].label, 0);
  EXPECT_EQ(d.examples[0].ids.front(), gpt2().special_ids().cls);
  EXPECT_EQ(d.examples[0].ids.back(), gpt2().special_ids().sep);
  EXPECT_LE(d.examples[0].ids.size(), 4u);
  EXPECT_NE(error_of([&] {
              load_classification(dir + "/eval.csv", gpt2(), o, labels);
            }).find("eval.csv:3: label \"maybe\" is not in the label set {neg, pos}"),
            std::string::npos);
  EXPECT_NE(error_of([&] { load_classification(dir + "/empty.csv", gpt2(), o, labels); }).find("empty dataset"),
            std::string::npos);
  std::filesystem::remove_all(dir);
}

const char* kSquad = R"({"data": [{"title": "t", "paragraphs": [{
  "context": "Caf\u00e9 owners in Paris open at seven. The river Seine flows through the city.",
  "qas": [
    {"id": "q1", "question": "When do owners open?", "answers": [{"text": "seven", "answer_start": 29}]},
    {"id": "q2", "question": "Which river?", "answers": [{"text": "Seine", "answer_start": 46}]},
    {"id": "q3", "question": "Who is the mayor?", "answers": [], "is_impossible": true}
  ]}]}]})";

TEST(Squad, AnswerTokensAndWindows) {
  QAOptions o;
  o.max_length = 64;
  const QAData d = parse_squad(kSquad, "s.json", gpt2(), o);
  ASSERT_EQ(d.questions.size(), 3u);
  ASSERT_EQ(d.examples.size(), 3u);
  for (int q : {0, 1}) {
    const Example& e = d.examples[size_t(q)];
    ASSERT_GT(e.start, 0);
    const std::string span = codepoint_substr(d.questions[size_t(q)].context, e.offsets[size_t(e.start)].first,
                                              e.offsets[size_t(e.end)].second);
    EXPECT_NE(span.find(d.questions[size_t(q)].answers[0]), std::string::npos) << span;
    EXPECT_EQ(e.ids[0], gpt2().special_ids().cls);
  }
  EXPECT_EQ(d.examples[2].start, 0);  // impossible -> [CLS]
  EXPECT_EQ(d.examples[2].end, 0);

  // A long context is covered by several windows; only the window holding the answer targets it.
  std::string ctx;
  for (int i = 0; i < 60; ++i) ctx += "word" + std::to_string(i) + " ";
  ctx += "needle";
  const std::string doc = R"({"data": [{"paragraphs": [{"context": ")" + ctx +
                          R"(", "qas": [{"id": "long", "question": "q?", "answers": [{"text": "needle"}]}]}]}]})";
  o.max_length = 40;
  o.doc_stride = 20;
  const QAData w = parse_squad(doc, "long.json", gpt2(), o);
  ASSERT_GT(w.examples.size(), 2u);
  int with_answer = 0;
  for (const Example& e : w.examples) {
    EXPECT_LE(e.ids.size(), 40u);
    if (e.start > 0) ++with_answer;
  }
  EXPECT_GE(with_answer, 1);
  EXPECT_EQ(w.examples.front().start, 0);
}

TEST(Squad, BadInput) {
  QAOptions o;
  std::string wrong = kSquad;
  wrong.replace(wrong.find("\"answer_start\": 29"), 18, "\"answer_start\": 3");
  EXPECT_NE(
      error_of([&] { parse_squad(wrong, "s.json", gpt2(), o); }).find("question \"q1\": answer \"seven\" not found"),
      std::string::npos);
  const std::string missing =
      R"({"data": [{"paragraphs": [{"context": "abc", "qas": [{"id": "z", "question": "q", "answers": [{"text": "xyz"}]}]}]}]})";
  EXPECT_NE(error_of([&] { parse_squad(missing, "s.json", gpt2(), o); }).find("not found in the context"),
            std::string::npos);
  EXPECT_NE(error_of([&] { parse_squad(R"({"data": []})", "s.json", gpt2(), o); }).find("empty dataset"),
            std::string::npos);
  EXPECT_THROW(parse_squad(R"({"data": [}])", "s.json", gpt2(), o), Error);
  EXPECT_THROW(parse_squad(R"({"version": 1})", "s.json", gpt2(), o), Error);
}

TEST(Mlm, WindowsAndMasking) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += "Emma walked to Highbury in the morning light.\n";
  MlmOptions o;
  o.max_length = 64;
  const std::vector<Example> ex = mlm_examples_from_text(text, "t.txt", gpt2(), o);
  ASSERT_GT(ex.size(), 10u);
  for (const Example& e : ex) {
    EXPECT_LE(e.ids.size(), 64u);
    EXPECT_EQ(e.ids.front(), gpt2().special_ids().cls);
    EXPECT_EQ(e.ids.back(), gpt2().special_ids().sep);
  }
  EXPECT_THROW(mlm_examples_from_text("\n  \n", "e.txt", gpt2(), o), Error);

  for (bool whole : {false, true}) {
    o.whole_word = whole;
    const MaskingPolicy p = MaskingPolicy::for_tokenizer(gpt2(), gpt2().vocab_size(), o);
    std::vector<const Example*> rows;
    for (const Example& e : ex) rows.push_back(&e);
    TrainBatch b = collate(rows, Task::MaskedLM, 0);
    TrainBatch again = collate(rows, Task::MaskedLM, 0);
    apply_masking(b, rows, p, 123);
    apply_masking(again, rows, p, 123);
    int64_t chosen = 0, masked = 0, kept = 0, real = 0;
    for (int64_t i = 0; i < b.labels.numel(); ++i) {
      ASSERT_EQ(b.labels[i], again.labels[i]) << "masking is a function of the key";
      ASSERT_EQ(b.input_ids[i], again.input_ids[i]);
      real += b.attention_mask[i];
      if (b.labels[i] == -100) continue;
      ++chosen;
      masked += b.input_ids[i] == p.mask_id;
      kept += b.input_ids[i] == b.labels[i];
    }
    const double share = double(chosen) / double(real);
    EXPECT_GT(share, 0.12) << whole;
    EXPECT_LT(share, 0.19) << whole;
    EXPECT_NEAR(double(masked) / double(chosen), 0.8, 0.06);
    EXPECT_NEAR(double(kept) / double(chosen), 0.1, 0.05);
    if (whole) {  // a chosen word is chosen with all its pieces: no label right after a word start is missing
      for (size_t r = 0; r < rows.size(); ++r)
        for (size_t t = 1; t + 1 < rows[r]->ids.size(); ++t)
          if (!rows[r]->word_start[t] && b.labels[int64_t(r) * b.labels.dim(1) + int64_t(t) - 1] != -100 &&
              rows[r]->ids[t - 1] != gpt2().special_ids().cls) {
            EXPECT_NE(b.labels[int64_t(r) * b.labels.dim(1) + int64_t(t)], -100);
          }
    }
  }
}

TEST(Summarization, PairsAndBadInput) {
  const std::string dir = bbtest::scratch_dir("data-sum");
  bbtest::write_text(dir + "/s.jsonl", "{\"document\": \"long text\", \"summary\": \"short\"}\n");
  bbtest::write_text(dir + "/bad.jsonl", "{\"document\": \"x\", \"summary\": \"y\"}\n{\"document\": \"z\"}\n");
  bbtest::write_text(dir + "/empty.jsonl", "\n");
  EXPECT_EQ(load_summarization(dir + "/s.jsonl").size(), 1u);
  EXPECT_NE(error_of([&] { load_summarization(dir + "/bad.jsonl"); }).find("bad.jsonl:2: row has no field \"summary\""),
            std::string::npos);
  EXPECT_NE(error_of([&] { load_summarization(dir + "/empty.jsonl"); }).find("empty dataset"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(Metrics, ClassificationSquadRouge) {
  const ClassificationMetrics m = classification_metrics({1, 0, 1, 1}, {1, 0, 0, 1}, 2);
  EXPECT_DOUBLE_EQ(m.accuracy, 0.75);
  EXPECT_DOUBLE_EQ(m.positive_f1, 0.8);  // tp 2, fp 1, fn 0
  EXPECT_DOUBLE_EQ(m.macro_f1, (0.8 + 2.0 / 3.0) / 2);
  EXPECT_EQ(normalize_answer("The  Seine, river!"), "seine river");
  EXPECT_EQ(exact_match("the Seine", {"Seine"}), 1.0);
  EXPECT_DOUBLE_EQ(token_f1("river Seine flows", {"the Seine"}), 0.5);
  EXPECT_EQ(exact_match("", {}), 1.0);
  EXPECT_EQ(token_f1("something", {}), 0.0);
  const Rouge r = rouge("the cat sat on the mat", "the cat lay on the mat");
  EXPECT_NEAR(r.rouge1, 5.0 / 6.0, 1e-12);
  EXPECT_NEAR(r.rouge2, 3.0 / 5.0, 1e-12);
  EXPECT_NEAR(r.rougeL, 5.0 / 6.0, 1e-12);
  EXPECT_EQ(rouge("", "x").rouge1, 0.0);
}

}  // namespace
