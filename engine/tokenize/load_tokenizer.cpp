#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/core/error.h"
#include "engine/tokenize/tokenizer.h"
#include "engine/tokenize/tokenizer_factories.h"
#include "engine/core/utf8.h"

namespace bb::tok {

namespace {

std::string read_vocab_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error("vocabulary file '" + path + "' does not exist");
  if (std::filesystem::is_directory(path, ec)) throw Error("vocabulary path '" + path + "' is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open vocabulary file '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error("cannot read vocabulary file '" + path + "'");
  std::string contents = ss.str();
  if (contents.empty()) throw Error("vocabulary file '" + path + "' is empty");
  return contents;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// vocab.txt is UTF-8 text; a serialized SentencePiece model is binary protobuf.
bool looks_like_wordpiece(const std::string& path, const std::string& contents) {
  if (ends_with(path, ".model")) return false;
  if (ends_with(path, ".txt")) return true;
  return contents.find('\0') == std::string::npos && find_invalid_utf8(contents) < 0;
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path, std::optional<Flavor> flavor) {
  const std::string contents = read_vocab_file(path);
  if (!flavor) flavor = looks_like_wordpiece(path, contents) ? Flavor::WordPiece : detect_sentencepiece_flavor(path, contents);
  if (*flavor == Flavor::WordPiece) return make_wordpiece_tokenizer(path, contents);
  return make_sentencepiece_tokenizer(path, contents, *flavor);
}

Flavor parse_flavor(const std::string& s) {
  if (s == "bigbird") return Flavor::BigBirdSentencePiece;
  if (s == "pegasus-hf") return Flavor::PegasusHF;
  if (s == "pegasus-tf") return Flavor::PegasusTF;
  if (s == "wordpiece") return Flavor::WordPiece;
  throw Error("unknown tokenizer flavor '" + s + "' (expected bigbird, pegasus-hf, pegasus-tf or wordpiece)");
}

std::string to_string(Flavor f) {
  switch (f) {
    case Flavor::BigBirdSentencePiece:
      return "bigbird";
    case Flavor::PegasusHF:
      return "pegasus-hf";
    case Flavor::PegasusTF:
      return "pegasus-tf";
    case Flavor::WordPiece:
      return "wordpiece";
  }
  return "unknown";
}

}  // namespace bb::tok
