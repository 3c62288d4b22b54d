// Bad input must fail with one clear bb::Error line: invalid UTF-8, missing/empty/garbage files,
// flavors that do not fit the file, out-of-range ids.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "engine/core/error.h"
#include "engine/tokenize/tokenizer.h"
#include "tokenizer_test_util.h"

using bb::tok::Flavor;
using bb::tok::testing::cached_tokenizer;
using bb::tok::testing::vocab_path;

namespace {

// The bb::Error message of `f`, or a failure when it does not throw one.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const bb::Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "error message must be one line: " << msg;
    return msg;
  }
  ADD_FAILURE() << "expected bb::Error";
  return "";
}

// Files written by the tests live in one directory that is removed at exit.
struct TempDir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("bb_tok_test_" + std::to_string(::getpid()));
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

std::string temp_file(const std::string& name, const std::string& contents) {
  static TempDir dir;
  std::filesystem::create_directories(dir.path);
  const auto p = dir.path / name;
  std::ofstream(p, std::ios::binary) << contents;
  return p.string();
}

TEST(Utf8, AcceptsValidText) {
  EXPECT_NO_THROW(bb::tok::validate_utf8(""));
  EXPECT_NO_THROW(bb::tok::validate_utf8("plain ascii"));
  EXPECT_NO_THROW(bb::tok::validate_utf8("caf\xC3\xA9 \xED\x95\x9C \xF0\x9F\x98\x80 \xEF\xBF\xBF"));
}

TEST(Utf8, NamesTheByteOffsetOfTheFirstBadSequence) {
  struct Bad {
    std::string text;
    int offset;
  };
  const Bad cases[] = {
      {"abc\x80", 3},                 // lone continuation byte
      {"ab\xC0\x80", 2},              // overlong NUL
      {"\xE0\x80\xAF", 0},            // overlong '/'
      {"x\xED\xA0\x80y", 1},          // UTF-16 surrogate
      {"caf\xC3", 3},                 // truncated at the end
      {"\xE2\x82 ok", 0},             // truncated in the middle
      {"\xF4\x90\x80\x80", 0},        // above U+10FFFF
      {"\xC3\xA9\xFF", 2},            // invalid lead byte after a valid character
  };
  for (const Bad& b : cases) {
    const std::string msg = error_of([&] { bb::tok::validate_utf8(b.text); });
    EXPECT_NE(msg.find("byte offset " + std::to_string(b.offset)), std::string::npos) << msg;
  }
}

TEST(Utf8, EveryTokenizerRejectsInvalidText) {
  const std::string bad = "ok \xFF bad";
  const std::pair<const char*, Flavor> all[] = {{"gpt2.model", Flavor::BigBirdSentencePiece},
                                                {"pegasus.model", Flavor::PegasusHF},
                                                {"pegasus.model", Flavor::PegasusTF},
                                                {"kobigbird-vocab.txt", Flavor::WordPiece}};
  for (const auto& [file, flavor] : all) {
    const auto& tok = cached_tokenizer(file, flavor);
    EXPECT_NE(error_of([&] { tok.encode(bad); }).find("byte offset 3"), std::string::npos) << file;
    EXPECT_NE(error_of([&] { tok.encode_raw(bad); }).find("byte offset 3"), std::string::npos) << file;
    if (flavor != Flavor::PegasusTF) {
      EXPECT_NE(error_of([&] { tok.encode("fine", bad); }).find("byte offset 3"), std::string::npos) << file;
    }
  }
  EXPECT_NE(error_of([&] { bb::tok::pegasus_tf_preprocess(bad); }).find("byte offset 3"), std::string::npos);
}

TEST(LoadTokenizer, MissingFile) {
  const std::string msg = error_of([] { bb::tok::load_tokenizer("/nonexistent/dir/spiece.model"); });
  EXPECT_NE(msg.find("/nonexistent/dir/spiece.model"), std::string::npos) << msg;
  EXPECT_NE(msg.find("does not exist"), std::string::npos) << msg;
}

TEST(LoadTokenizer, DirectoryInsteadOfFile) {
  const std::string dir = std::filesystem::temp_directory_path().string();
  EXPECT_NE(error_of([&] { bb::tok::load_tokenizer(dir); }).find("directory"), std::string::npos);
}

TEST(LoadTokenizer, EmptyVocabFile) {
  const std::string path = temp_file("empty-vocab.txt", "");
  const std::string msg = error_of([&] { bb::tok::load_tokenizer(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("empty"), std::string::npos) << msg;
  const std::string model = temp_file("empty.model", "");
  EXPECT_NE(error_of([&] { bb::tok::load_tokenizer(model); }).find("empty"), std::string::npos);
}

TEST(LoadTokenizer, GarbageModelFile) {
  std::string garbage;
  uint32_t x = 12345;
  for (int i = 0; i < 4096; ++i) {
    x = x * 1103515245u + 12345u;
    garbage += static_cast<char>(x >> 24);
  }
  const std::string path = temp_file("garbage.model", garbage);
  const std::string msg = error_of([&] { bb::tok::load_tokenizer(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("SentencePiece"), std::string::npos) << msg;

  // Plain text with a .model name is not a SentencePiece model either.
  const std::string text = temp_file("text.model", "hello world\nthis is not protobuf\n");
  EXPECT_NE(error_of([&] { bb::tok::load_tokenizer(text); }).find("SentencePiece"), std::string::npos);
}

TEST(LoadTokenizer, TruncatedModelFile) {
  std::ifstream in(vocab_path("gpt2.model"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string path = temp_file("truncated.model", bytes.substr(0, bytes.size() / 2));
  EXPECT_NE(error_of([&] { bb::tok::load_tokenizer(path); }).find("SentencePiece"), std::string::npos);
}

TEST(LoadTokenizer, WordPieceVocabWithoutSpecialTokens) {
  const std::string path = temp_file("plain-vocab.txt", "hello\nworld\n##s\n");
  EXPECT_NE(error_of([&] { bb::tok::load_tokenizer(path); }).find("[UNK]"), std::string::npos);
}

TEST(LoadTokenizer, BinaryFileAsWordPiece) {
  const std::string msg = error_of([] { bb::tok::load_tokenizer(vocab_path("gpt2.model"), Flavor::WordPiece); });
  EXPECT_NE(msg.find("UTF-8"), std::string::npos) << msg;
}

TEST(LoadTokenizer, FlavorThatDoesNotFitTheModel) {
  const std::string msg = error_of([] { bb::tok::load_tokenizer(vocab_path("gpt2.model"), Flavor::PegasusHF); });
  EXPECT_NE(msg.find("Pegasus"), std::string::npos) << msg;
}

TEST(LoadTokenizer, UnknownFlavorName) {
  EXPECT_NE(error_of([] { bb::tok::parse_flavor("gpt3"); }).find("gpt3"), std::string::npos);
  for (const char* name : {"bigbird", "pegasus-hf", "pegasus-tf", "wordpiece"})
    EXPECT_EQ(bb::tok::to_string(bb::tok::parse_flavor(name)), name);
}

TEST(LoadTokenizer, DetectsFlavorFromTheFile) {
  EXPECT_EQ(bb::tok::load_tokenizer(vocab_path("gpt2.model"))->flavor(), Flavor::BigBirdSentencePiece);
  EXPECT_EQ(bb::tok::load_tokenizer(vocab_path("pegasus.model"))->flavor(), Flavor::PegasusHF);
  EXPECT_EQ(bb::tok::load_tokenizer(vocab_path("kobigbird-vocab.txt"))->flavor(), Flavor::WordPiece);
}

TEST(Vocabulary, IdsOutOfRangeAreErrors) {
  const std::pair<const char*, Flavor> all[] = {{"gpt2.model", Flavor::BigBirdSentencePiece},
                                                {"pegasus.model", Flavor::PegasusHF},
                                                {"kobigbird-vocab.txt", Flavor::WordPiece}};
  for (const auto& [file, flavor] : all) {
    const auto& tok = cached_tokenizer(file, flavor);
    const auto n = static_cast<int32_t>(tok.vocab_size());
    EXPECT_NE(error_of([&] { tok.id_to_piece(n); }).find("out of range"), std::string::npos) << file;
    EXPECT_NE(error_of([&] { tok.id_to_piece(-1); }).find("out of range"), std::string::npos) << file;
    EXPECT_NE(error_of([&] { tok.decode({0, n}); }).find("out of range"), std::string::npos) << file;
  }
}

}  // namespace
