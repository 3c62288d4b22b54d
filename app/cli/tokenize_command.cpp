// bigbird tokenize: ids, pieces and source offsets of a text, as the models will see them.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "app/cli/args.h"
#include "app/cli/command.h"
#include "engine/core/error.h"
#include "engine/tokenize/tokenizer.h"

namespace bb::cli {
namespace {

const char* kUsage = R"(usage: bigbird tokenize --vocab FILE (--text T | --file F | --file -) [--pair T2]
                        [--flavor bigbird|pegasus-hf|pegasus-tf|wordpiece] [--raw] [--json]

Tokenizes text exactly like the HF slow tokenizer of the model (BigBirdTokenizer for gpt2.model,
PegasusTokenizer for pegasus.model, BertTokenizer for KoBigBird's vocab.txt) and prints every token
with its id, vocabulary piece and [begin, end) span in the source, in characters and in UTF-8 bytes.
  --vocab FILE    *.model (SentencePiece) or vocab.txt (WordPiece); the flavor is detected from it
  --text T        the text to tokenize                 --file F   read it from F ('-' = stdin)
  --pair T2       second segment ([CLS] A [SEP] B [SEP]); spans of its tokens index T2
  --flavor        override detection; pegasus-tf = raw pegasus.model ids as the TF code uses them
  --raw           the tokenizer's own segmentation, no [CLS]/[SEP]/</s> added
  --json          one JSON object (ids, pieces, offsets, offsets_utf8, token_type_ids) instead of a table)";

std::string read_input(const std::string& file) {
  if (file == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("cannot open input file '" + file + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error("cannot read input file '" + file + "'");
  return ss.str();
}

// Pieces can hold control characters; keep one table row per token.
std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// Left-justifies to `width` terminal columns, counting code points rather than bytes.
std::string pad_right(const std::string& s, size_t width) {
  size_t cps = 0;
  for (unsigned char c : s) cps += (c & 0xC0) != 0x80;
  return cps >= width ? s : s + std::string(width - cps, ' ');
}

int run_tokenize(const std::vector<std::string>& argv) {
  Args args(argv, {"vocab", "text", "file", "pair", "flavor"}, {"raw", "json"});
  if (!args.positional().empty()) throw Error("unexpected argument '" + args.positional().front() + "' (see --help)");
  const std::string vocab = args.require("vocab");
  if (args.has("text") == args.has("file")) throw Error("give exactly one of --text or --file");
  if (args.has("raw") && args.has("pair")) throw Error("--pair cannot be combined with --raw");
  std::optional<tok::Flavor> flavor;
  if (auto f = args.get("flavor")) flavor = tok::parse_flavor(*f);

  const std::string text = args.has("text") ? *args.get("text") : read_input(*args.get("file"));
  const auto tokenizer = tok::load_tokenizer(vocab, flavor);
  const tok::Encoding enc = args.has("raw") ? tokenizer->encode_raw(text) : tokenizer->encode(text, args.get("pair"));

  if (args.has("json")) {
    nlohmann::json j;
    j["vocab"] = vocab;
    j["flavor"] = tok::to_string(tokenizer->flavor());
    j["count"] = enc.ids.size();
    j["ids"] = enc.ids;
    j["pieces"] = enc.pieces;
    j["offsets"] = enc.offsets;
    j["offsets_utf8"] = enc.offsets_utf8;
    j["token_type_ids"] = enc.token_type_ids;
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }
  std::printf("flavor %s, %zu tokens\n", tok::to_string(tokenizer->flavor()).c_str(), enc.ids.size());
  std::printf("%6s %7s  %-24s %13s %13s %4s\n", "#", "id", "piece", "chars", "bytes", "type");
  for (size_t i = 0; i < enc.ids.size(); ++i) {
    const std::string chars = std::to_string(enc.offsets[i].first) + ".." + std::to_string(enc.offsets[i].second);
    const std::string bytes =
        std::to_string(enc.offsets_utf8[i].first) + ".." + std::to_string(enc.offsets_utf8[i].second);
    std::printf("%6zu %7d  %s %13s %13s %4d\n", i, enc.ids[i], pad_right(printable(enc.pieces[i]), 24).c_str(),
                chars.c_str(), bytes.c_str(), enc.token_type_ids[i]);
  }
  return 0;
}

const Registrar reg{{"tokenize", "Tokenize text (ids, pieces, source offsets)", kUsage, run_tokenize}};

}  // namespace
}  // namespace bb::cli
