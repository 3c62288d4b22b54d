// libFuzzer target: arbitrary text (and id sequences) through the real BigBird, Pegasus (HF and TF
// conventions) and KoBigBird tokenizers: encode, encode a pair, decode, TF pre/post-processing.
// Byte 0 picks the tokenizer; invalid UTF-8 must be a bb::Error, never a crash.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/tokenize/tokenizer.h"

namespace {

std::vector<std::unique_ptr<bb::tok::Tokenizer>>& tokenizers() {
  static std::vector<std::unique_ptr<bb::tok::Tokenizer>> t = [] {
    const std::string dir = std::string(BIGBIRD_RESOURCE_DIR) + "/vocab/";
    std::vector<std::unique_ptr<bb::tok::Tokenizer>> v;
    v.push_back(bb::tok::load_tokenizer(dir + "gpt2.model"));
    v.push_back(bb::tok::load_tokenizer(dir + "pegasus.model", bb::tok::Flavor::PegasusHF));
    v.push_back(bb::tok::load_tokenizer(dir + "pegasus.model", bb::tok::Flavor::PegasusTF));
    v.push_back(bb::tok::load_tokenizer(dir + "kobigbird-vocab.txt"));
    return v;
  }();
  return t;
}

}  // namespace

// Loading the vocabularies (seconds under ASan) happens once, outside the per-input timeout.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tokenizers();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  auto& all = tokenizers();
  const bb::tok::Tokenizer& t = *all[data[0] % all.size()];
  const bool pair = data[0] & 0x10;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    const bb::tok::Encoding e = t.encode_raw(text);
    if (e.ids.size() != e.offsets.size()) __builtin_trap();
    t.decode(e.ids, data[0] & 0x20);
  } catch (const bb::Error&) {
  }
  try {
    if (pair && t.flavor() != bb::tok::Flavor::PegasusTF) {
      const size_t cut = text.size() / 2;
      t.encode(text.substr(0, cut), text.substr(cut));
    } else {
      t.encode(text);
    }
  } catch (const bb::Error&) {
  }
  try {
    bb::tok::pegasus_tf_postprocess(bb::tok::pegasus_tf_preprocess(text));
  } catch (const bb::Error&) {
  }
  // The bytes as token ids (in and out of range).
  std::vector<int32_t> ids;
  for (size_t i = 1; i + 1 < size; i += 2) ids.push_back(int32_t(data[i] | (data[i + 1] << 8)) - 1000);
  try {
    t.decode(ids, true);
  } catch (const bb::Error&) {
  }
  return 0;
}
