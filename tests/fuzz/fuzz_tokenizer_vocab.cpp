// libFuzzer target: vocabulary files as a user could supply them: byte 0 picks WordPiece vocab.txt,
// a SentencePiece model for BigBird, for Pegasus, or flavor detection; the rest is the file.
// A tokenizer that loads is then used once.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/core/error.h"
#include "engine/tokenize/tokenizer_factories.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string contents(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    std::unique_ptr<bb::tok::Tokenizer> t;
    switch (data[0] % 4) {
      case 0: t = bb::tok::make_wordpiece_tokenizer("fuzz-vocab.txt", contents); break;
      case 1: t = bb::tok::make_sentencepiece_tokenizer("fuzz.model", contents, bb::tok::Flavor::BigBirdSentencePiece); break;
      case 2: t = bb::tok::make_sentencepiece_tokenizer("fuzz.model", contents, bb::tok::Flavor::PegasusHF); break;
      default:
        t = bb::tok::make_sentencepiece_tokenizer("fuzz.model", contents, bb::tok::detect_sentencepiece_flavor("fuzz.model", contents));
    }
    const bb::tok::Encoding e = t->encode("Hello world, 안녕하세요 [MASK] <n> text.");
    t->decode(e.ids);
  } catch (const bb::Error&) {
  }
  return 0;
}
