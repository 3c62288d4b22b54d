// Inputs the fuzzers (tests/fuzz) found problems with, replayed in the normal build: each must
// now fail with a one-line bb::Error (or succeed), never crash or hang.
#include <gtest/gtest.h>

#include <filesystem>

#include "engine/io/atomic_file.h"
#include "engine/tokenize/tokenizer_factories.h"
#include "tests/engine/io/io_test_util.h"

using bb::testing::error_of;

namespace {

std::string regression(const std::string& name) {
  return std::filesystem::path(BIGBIRD_TEST_DATA).parent_path().string() + "/fuzz/regressions/" + name;
}

}  // namespace

TEST(FuzzRegressions, SentencePieceModelWithAnEmptyPiece) {
  // fuzz_tokenizer_vocab: libsentencepiece threw Darts::Details::Exception ("zero-length key") out
  // of LoadFromSerializedProto, which terminated the process.
  const std::string bytes = bb::io::read_text_file(regression("tokenizer_vocab-empty-piece"));
  ASSERT_GT(bytes.size(), 1u);
  const std::string model = bytes.substr(1);  // byte 0 selected the flavor in the fuzz target
  for (auto flavor : {bb::tok::Flavor::BigBirdSentencePiece, bb::tok::Flavor::PegasusHF}) {
    const std::string err = error_of([&] { bb::tok::make_sentencepiece_tokenizer("fuzz.model", model, flavor); });
    EXPECT_NE(err, "<no error>");
    EXPECT_EQ(err.rfind("fuzz.model: ", 0), 0u) << err;
  }
}
