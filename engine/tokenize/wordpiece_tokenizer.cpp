// WordPiece with HF BertTokenizer (slow) semantics, as KoBigBird uses it. See
// tests/data/tokenizers/README.md for the exact conventions reproduced here.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "engine/core/error.h"
#include "engine/tokenize/bert_basic.h"
#include "engine/tokenize/encoding_builder.h"
#include "engine/tokenize/special_split.h"
#include "engine/tokenize/tokenizer_factories.h"
#include "engine/core/utf8.h"

namespace bb::tok {

namespace {

constexpr size_t kMaxCharsPerWord = 100;  // WordpieceTokenizer.max_input_chars_per_word

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using VocabMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

// Python's readlines() in text mode: universal newlines ("\n", "\r\n", "\r"), each line without it.
std::vector<std::string> read_lines(const std::string& s) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\n' && s[i] != '\r') continue;
    lines.push_back(s.substr(start, i - start));
    if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
    start = i + 1;
  }
  if (start < s.size()) lines.push_back(s.substr(start));
  return lines;
}

std::optional<std::string> read_optional_file(const std::filesystem::path& p) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(p, ec)) return std::nullopt;
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nlohmann::json parse_json_file(const std::filesystem::path& p, const std::string& text) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(p.string() + ": invalid JSON (" + std::string(e.what()) + ")");
  }
}

std::string token_content(const nlohmann::json& v, const std::filesystem::path& p, const std::string& key) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  throw Error(p.string() + ": '" + key + "' is neither a string nor an object with a \"content\" string");
}

// The HF files next to the vocabulary: "<prefix>vocab.txt" pairs with "<prefix>special_tokens_map.json"
// and "<prefix>tokenizer_config.json" (prefix "" in a HF model folder, "kobigbird-" in resources/vocab).
std::filesystem::path sibling(const std::string& vocab_path, const std::string& name) {
  std::filesystem::path p(vocab_path);
  std::string file = p.filename().string();
  const std::string suffix = "vocab.txt";
  std::string prefix = file.size() >= suffix.size() && file.compare(file.size() - suffix.size(), suffix.size(), suffix) == 0
                           ? file.substr(0, file.size() - suffix.size())
                           : "";
  return p.parent_path() / (prefix + name);
}

struct SpecialNames {
  std::string unk = "[UNK]", sep = "[SEP]", pad = "[PAD]", cls = "[CLS]", mask = "[MASK]";
  std::optional<std::string> bos, eos;
  std::vector<std::string> additional;
};

SpecialNames read_special_names(const std::string& vocab_path, const VocabMap& vocab) {
  SpecialNames names;
  const auto map_path = sibling(vocab_path, "special_tokens_map.json");
  if (auto text = read_optional_file(map_path)) {
    const nlohmann::json j = parse_json_file(map_path, *text);
    if (!j.is_object()) throw Error(map_path.string() + ": expected a JSON object");
    auto get = [&](const char* key, std::string& dst) {
      if (j.contains(key) && !j[key].is_null()) dst = token_content(j[key], map_path, key);
    };
    auto get_opt = [&](const char* key, std::optional<std::string>& dst) {
      if (j.contains(key) && !j[key].is_null()) dst = token_content(j[key], map_path, key);
    };
    get("unk_token", names.unk), get("sep_token", names.sep), get("pad_token", names.pad);
    get("cls_token", names.cls), get("mask_token", names.mask);
    get_opt("bos_token", names.bos), get_opt("eos_token", names.eos);
    if (j.contains("additional_special_tokens") && j["additional_special_tokens"].is_array())
      for (const auto& v : j["additional_special_tokens"])
        names.additional.push_back(token_content(v, map_path, "additional_special_tokens"));
  } else {
    // No map next to the file: KoBigBird's, whose bos/eos exist for BigBirdTokenizer compatibility.
    if (vocab.count("<s>")) names.bos = "<s>";
    if (vocab.count("</s>")) names.eos = "</s>";
  }
  const auto config_path = sibling(vocab_path, "tokenizer_config.json");
  if (auto text = read_optional_file(config_path)) {
    const nlohmann::json j = parse_json_file(config_path, *text);
    auto flag = [&](const char* key) { return j.is_object() && j.contains(key) && j[key].is_boolean() && j[key].get<bool>(); };
    auto flag_false = [&](const char* key) {
      return j.is_object() && j.contains(key) && j[key].is_boolean() && !j[key].get<bool>();
    };
    if (flag("do_lower_case") || flag("strip_accents") || flag_false("tokenize_chinese_chars") ||
        flag_false("do_basic_tokenize"))
      throw Error(config_path.string() +
                  ": unsupported BertTokenizer settings (only do_lower_case=false, strip_accents=null, "
                  "tokenize_chinese_chars=true, do_basic_tokenize=true are implemented)");
  }
  return names;
}

class WordPieceTokenizer final : public Tokenizer {
 public:
  WordPieceTokenizer(const std::string& path, const std::string& contents) : path_(path) {
    if (const int64_t bad = find_invalid_utf8(contents); bad >= 0)
      throw Error(path + ": not a WordPiece vocabulary (invalid UTF-8 at byte offset " + std::to_string(bad) + ")");
    pieces_ = read_lines(contents);
    if (pieces_.empty()) throw Error(path + ": vocabulary file has no entries");
    vocab_.reserve(pieces_.size());
    for (size_t i = 0; i < pieces_.size(); ++i) {
      vocab_[pieces_[i]] = static_cast<int32_t>(i);  // later duplicates win, like HF's load_vocab
      max_piece_chars_ = std::max(max_piece_chars_, decode_utf8(pieces_[i]).cps.size());
    }

    const SpecialNames names = read_special_names(path, vocab_);
    auto id_of = [&](const std::optional<std::string>& s) -> int32_t {
      if (!s) return -1;
      auto it = vocab_.find(*s);
      return it == vocab_.end() ? -1 : it->second;
    };
    ids_.unk = id_of(names.unk), ids_.sep = id_of(names.sep), ids_.pad = id_of(names.pad);
    ids_.cls = id_of(names.cls), ids_.mask = id_of(names.mask), ids_.bos = id_of(names.bos), ids_.eos = id_of(names.eos);
    if (ids_.unk < 0 || ids_.cls < 0 || ids_.sep < 0)
      throw Error(path + ": not a BERT WordPiece vocabulary (" + names.unk + ", " + names.cls + " or " + names.sep +
                  " is missing)");

    // Special strings are cut out of the text first (HF's added-tokens trie) and never split afterwards.
    std::vector<std::optional<std::string>> all{names.bos, names.eos, names.unk, names.sep, names.pad, names.cls,
                                                names.mask};
    for (const auto& a : names.additional) all.emplace_back(a);
    std::vector<std::string> split;
    for (const auto& s : all) {
      if (!s || id_of(s) < 0 || std::find(split.begin(), split.end(), *s) != split.end()) continue;
      split.push_back(*s);
      split_ids_.push_back(id_of(s));
      never_split_.insert(decode_utf8(*s).cps);
    }
    splitter_ = SpecialSplitter(split);
  }

  Flavor flavor() const override { return Flavor::WordPiece; }
  int64_t vocab_size() const override { return static_cast<int64_t>(pieces_.size()); }
  SpecialIds special_ids() const override { return ids_; }

  std::string id_to_piece(int32_t id) const override {
    if (id < 0 || id >= vocab_size())
      throw Error(path_ + ": token id " + std::to_string(id) + " is out of range [0, " +
                  std::to_string(vocab_size()) + ")");
    return pieces_[id];
  }

  std::optional<int32_t> piece_to_id(const std::string& piece) const override {
    auto it = vocab_.find(piece);
    if (it == vocab_.end()) return std::nullopt;
    return it->second;
  }

  Encoding encode_raw(const std::string& text) const override {
    validate_utf8(text);
    const TextPositions pos(text);
    EncodingBuilder b;
    tokenize(text, pos, 0, b);
    return b.take();
  }

  Encoding encode(const std::string& text, const std::optional<std::string>& pair) const override {
    validate_utf8(text);
    if (pair) validate_utf8(*pair);
    const TextPositions pos(text);
    EncodingBuilder b;
    b.add_inserted(ids_.cls, pieces_[ids_.cls]);
    tokenize(text, pos, 0, b);
    b.add_inserted(ids_.sep, pieces_[ids_.sep]);
    if (pair) {
      const TextPositions pair_pos(*pair);
      tokenize(*pair, pair_pos, 1, b);
      b.add_inserted(ids_.sep, pieces_[ids_.sep], 1);
    }
    return b.take();
  }

  // HF convert_tokens_to_string: " ".join(tokens).replace(" ##", "").
  std::string decode(const std::vector<int32_t>& ids, bool skip_special) const override {
    std::string joined;
    bool first = true;
    for (int32_t id : ids) {
      if (id < 0 || id >= vocab_size()) id_to_piece(id);  // throws the out-of-range error
      const std::string& piece = pieces_[id];
      if (skip_special && (id == ids_.pad || id == ids_.cls || id == ids_.sep || id == ids_.bos || id == ids_.eos))
        continue;
      if (!first && piece.rfind("##", 0) == 0) {
        joined += piece.substr(2);
      } else {
        if (!first) joined += ' ';
        joined += piece;
      }
      first = false;
    }
    return joined;
  }

 private:
  void tokenize(const std::string& text, const TextPositions& pos, int32_t type, EncodingBuilder& b) const {
    const std::u32string_view cps(pos.decoded.cps);
    for (const TextSegment& seg : splitter_.split(text)) {
      const int64_t cp_begin = pos.to_cp(static_cast<int64_t>(seg.begin));
      const int64_t cp_end = pos.to_cp(static_cast<int64_t>(seg.end));
      if (seg.special >= 0) {
        const int32_t id = split_ids_[seg.special];
        b.add_cp(id, pieces_[id], cp_begin, cp_end, pos, type);
        continue;
      }
      for (const BasicWord& w : bert_basic_tokenize(cps.substr(cp_begin, cp_end - cp_begin), cp_begin, never_split_))
        wordpiece(w, pos, type, b);
    }
  }

  // WordpieceTokenizer.tokenize on one word: greedy longest match, "##" for continuations;
  // a word that is too long or has an unmatchable part becomes a single [UNK].
  void wordpiece(const BasicWord& w, const TextPositions& pos, int32_t type, EncodingBuilder& b) const {
    const size_t n = w.text.size();
    auto span = [&](size_t from, size_t to) {
      int64_t lo = w.begin[from], hi = w.end[from];
      for (size_t k = from + 1; k < to; ++k) lo = std::min(lo, w.begin[k]), hi = std::max(hi, w.end[k]);
      return std::make_pair(lo, hi);
    };
    auto add_unk = [&] {
      const auto [lo, hi] = span(0, n);
      b.add_cp(ids_.unk, pieces_[ids_.unk], lo, hi, pos, type);
    };
    if (n > kMaxCharsPerWord) return add_unk();

    std::string utf8;
    std::vector<size_t> at(n + 1);
    for (size_t k = 0; k < n; ++k) {
      at[k] = utf8.size();
      append_utf8(utf8, w.text[k]);
    }
    at[n] = utf8.size();

    struct Sub {
      int32_t id;
      size_t from, to;
    };
    std::vector<Sub> subs;
    std::string candidate;
    for (size_t start = 0; start < n;) {
      const size_t prefix_chars = start > 0 ? 2 : 0;
      size_t end = std::min(n, start + (max_piece_chars_ > prefix_chars ? max_piece_chars_ - prefix_chars : 0));
      int32_t found = -1;
      for (; end > start; --end) {
        candidate.assign(start > 0 ? "##" : "");
        candidate.append(utf8, at[start], at[end] - at[start]);
        if (auto it = vocab_.find(std::string_view(candidate)); it != vocab_.end()) {
          found = it->second;
          break;
        }
      }
      if (found < 0) return add_unk();
      subs.push_back({found, start, end});
      start = end;
    }
    for (const Sub& s : subs) {
      const auto [lo, hi] = span(s.from, s.to);
      b.add_cp(s.id, pieces_[s.id], lo, hi, pos, type);
    }
  }

  std::string path_;
  std::vector<std::string> pieces_;
  VocabMap vocab_;
  size_t max_piece_chars_ = 0;
  SpecialIds ids_;
  SpecialSplitter splitter_;
  std::vector<int32_t> split_ids_;
  std::unordered_set<std::u32string> never_split_;
};

}  // namespace

std::unique_ptr<Tokenizer> make_wordpiece_tokenizer(const std::string& path, const std::string& contents) {
  return std::make_unique<WordPieceTokenizer>(path, contents);
}

}  // namespace bb::tok
