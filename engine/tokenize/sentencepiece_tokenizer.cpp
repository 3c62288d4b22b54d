// SentencePiece tokenizers: BigBird-RoBERTa (HF BigBirdTokenizer) and BigBird-Pegasus
// (HF PegasusTokenizer, or the raw ids the TF code uses). See tests/data/tokenizers/README.md.
#include <sentencepiece_processor.h>

#include <regex>

#include "engine/core/error.h"
#include "engine/tokenize/encoding_builder.h"
#include "engine/tokenize/sp_model_proto.h"
#include "engine/tokenize/special_split.h"
#include "engine/tokenize/tokenizer_factories.h"
#include "engine/tokenize/unicode_props.h"

namespace bb::tok {

namespace {

// pegasus.model inlines BigBird's 103 reserved pieces at ids 2..104 (unk at 105, "<n>" at 106).
// HF PegasusTokenizer instead runs the original 96000-piece model and shifts its ids by 103,
// giving ids 0..104 to its own special strings.
constexpr int kPegasusReservedFirst = 2;
constexpr int kPegasusReservedLast = 104;
constexpr int kPegasusOffset = 103;
constexpr int kPegasusPieces = 96103;

bool is_pegasus_layout(const std::vector<SpPiece>& pieces) {
  if (pieces.size() <= 106) return false;
  for (int id = kPegasusReservedFirst; id <= kPegasusReservedLast; ++id)
    if (pieces[id].type == SpPieceType::Normal || pieces[id].type == SpPieceType::Unknown) return false;
  return pieces[105].type == SpPieceType::Unknown && pieces[106].piece == "<n>";
}

// Names HF PegasusTokenizer gives to ids 0..105.
std::vector<std::string> pegasus_hf_low_names() {
  std::vector<std::string> names{"<pad>", "</s>", "<mask_1>", "<mask_2>"};
  for (int k = 2; k <= 102; ++k) names.push_back("<unk_" + std::to_string(k) + ">");
  names.push_back("<unk>");
  return names;
}

struct SplitToken {
  std::string text;
  int32_t id;
  bool lstrip;  // eats the whitespace before it (HF AddedToken lstrip=True: [MASK] in BigBird)
};

class SentencePieceTokenizer final : public Tokenizer {
 public:
  SentencePieceTokenizer(const std::string& path, const std::string& contents, Flavor flavor)
      : flavor_(flavor), path_(path) {
    const std::vector<SpPiece> pieces = read_sp_pieces(contents, path);
    std::string model = contents;
    if (flavor == Flavor::PegasusHF) {
      if (!is_pegasus_layout(pieces))
        throw Error(path + ": not a BigBird-Pegasus model (expects reserved pieces 2..104, <unk> at 105, <n> at 106)");
      // Rebuild the original Pegasus model: its unk is piece 2 and it has no <s>.
      model = remove_sp_pieces(contents, kPegasusReservedFirst, kPegasusReservedLast, 2, -1, path);
    }
    sentencepiece::util::Status status;
    try {
      status = sp_.LoadFromSerializedProto(model);
    } catch (const std::exception& e) {  // it throws on some malformed models (found by fuzz_tokenizer_vocab)
      throw Error(path + ": not a usable SentencePiece model (" + e.what() + ")");
    }
    if (!status.ok()) throw Error(path + ": not a usable SentencePiece model (" + status.ToString() + ")");

    if (flavor == Flavor::PegasusHF) {
      if (!sp_.IsUnknown(2) || sp_.IdToPiece(3) != "<n>")
        throw Error(path + ": rebuilding the 96000-piece Pegasus model failed (no <unk> at 2 / <n> at 3)");
      low_names_ = pegasus_hf_low_names();
      vocab_size_ = sp_.GetPieceSize() + kPegasusOffset;
      ids_.pad = 0, ids_.eos = 1, ids_.mask = 3, ids_.unk = 105;
      for (size_t id = 0; id < low_names_.size(); ++id)
        split_.push_back({low_names_[id], static_cast<int32_t>(id), false});
    } else {
      vocab_size_ = sp_.GetPieceSize();
      ids_.pad = find_or("<pad>", -1);
      ids_.eos = find_or("</s>", -1);
      ids_.bos = find_or("<s>", -1);
      ids_.cls = find_or("[CLS]", -1);
      ids_.sep = find_or("[SEP]", -1);
      ids_.mask = find_or("[MASK]", -1);
      ids_.unk = sp_.unk_id();
      if (flavor == Flavor::BigBirdSentencePiece) {
        if (ids_.cls < 0 || ids_.sep < 0)
          throw Error(path + ": SentencePiece model has no [CLS]/[SEP] pieces, so it is not a BigBird-RoBERTa vocabulary");
        // HF BigBirdTokenizer's special tokens; only [MASK] strips whitespace (lstrip=True).
        const std::pair<const char*, int32_t> specials[] = {{"<unk>", ids_.unk}, {"<s>", ids_.bos},
                                                            {"</s>", ids_.eos},  {"<pad>", ids_.pad},
                                                            {"[SEP]", ids_.sep}, {"[MASK]", ids_.mask},
                                                            {"[CLS]", ids_.cls}};
        for (const auto& [text, id] : specials)
          if (id >= 0) split_.push_back({text, id, std::string(text) == "[MASK]"});
      }
    }
    std::vector<std::string> texts;
    for (const auto& s : split_) texts.push_back(s.text);
    splitter_ = SpecialSplitter(texts);
  }

  Flavor flavor() const override { return flavor_; }
  int64_t vocab_size() const override { return vocab_size_; }
  SpecialIds special_ids() const override { return ids_; }

  std::string id_to_piece(int32_t id) const override {
    if (id < 0 || id >= vocab_size_)
      throw Error(path_ + ": token id " + std::to_string(id) + " is out of range [0, " + std::to_string(vocab_size_) +
                  ")");
    if (flavor_ == Flavor::PegasusHF && id < static_cast<int32_t>(low_names_.size())) return low_names_[id];
    return sp_.IdToPiece(to_sp_id(id));
  }

  std::optional<int32_t> piece_to_id(const std::string& piece) const override {
    if (flavor_ == Flavor::PegasusHF)
      for (size_t id = 0; id < low_names_.size(); ++id)
        if (low_names_[id] == piece) return static_cast<int32_t>(id);
    const int sp_id = sp_.PieceToId(piece);
    if (sp_id < 0 || sp_id >= sp_.GetPieceSize() || sp_.IdToPiece(sp_id) != piece) return std::nullopt;
    return from_sp_id(sp_id);
  }

  Encoding encode_raw(const std::string& text) const override {
    validate_utf8(text);
    const TextPositions pos(text);
    EncodingBuilder b;
    encode_span(text, 0, text.size(), pos, 0, b);
    return b.take();
  }

  Encoding encode(const std::string& text, const std::optional<std::string>& pair) const override {
    validate_utf8(text);
    if (pair) validate_utf8(*pair);
    EncodingBuilder b;
    const TextPositions pos(text);
    switch (flavor_) {
      case Flavor::BigBirdSentencePiece:
        b.add_inserted(ids_.cls, id_to_piece(ids_.cls));
        encode_hf(text, pos, 0, b);
        b.add_inserted(ids_.sep, id_to_piece(ids_.sep));
        if (pair) {
          const TextPositions pair_pos(*pair);
          encode_hf(*pair, pair_pos, 1, b);
          b.add_inserted(ids_.sep, id_to_piece(ids_.sep), 1);
        }
        break;
      case Flavor::PegasusHF:
        encode_hf(text, pos, 0, b);
        if (pair) {
          const TextPositions pair_pos(*pair);
          encode_hf(*pair, pair_pos, 1, b);
        }
        b.add_inserted(ids_.eos, id_to_piece(ids_.eos), pair ? 1 : 0);
        break;
      case Flavor::PegasusTF:
        if (pair) throw Error("pegasus-tf tokenizer: text pairs are not supported (the TF pipeline encodes one document)");
        encode_span(text, 0, text.size(), pos, 0, b);
        break;
      case Flavor::WordPiece:
        throw Error("internal: SentencePiece tokenizer with WordPiece flavor");
    }
    return b.take();
  }

  std::string decode(const std::vector<int32_t>& ids, bool skip_special) const override {
    std::vector<int> sp_ids;
    std::vector<std::string> sub_texts;
    for (int32_t id : ids) {
      id_to_piece(id);  // range check
      if (skip_special && is_skipped_on_decode(id)) continue;
      if (flavor_ != Flavor::PegasusTF && is_special_string(id)) {
        flush_decode(sp_ids, sub_texts);
        sub_texts.push_back(id_to_piece(id));
      } else {
        sp_ids.push_back(to_sp_id(id));
      }
    }
    flush_decode(sp_ids, sub_texts);
    std::string text;
    for (size_t i = 0; i < sub_texts.size(); ++i) text += (i ? " " : "") + sub_texts[i];
    // BigBirdTokenizer mimics its Rust tokenizer: no space before [MASK] and [SEP].
    if (flavor_ == Flavor::BigBirdSentencePiece) {
      static const std::regex no_space_before(R"( (\[(MASK|SEP)\]))");
      text = std::regex_replace(text, no_space_before, "$1");
    }
    return text;
  }

 private:
  int32_t find_or(const std::string& piece, int32_t fallback) const {
    const int id = sp_.PieceToId(piece);
    return (id >= 0 && sp_.IdToPiece(id) == piece) ? id : fallback;
  }
  int to_sp_id(int32_t id) const {
    return (flavor_ == Flavor::PegasusHF && id >= kPegasusOffset + 2) ? id - kPegasusOffset : id;
  }
  int32_t from_sp_id(int sp_id) const {
    return (flavor_ == Flavor::PegasusHF && sp_id >= 2) ? sp_id + kPegasusOffset : sp_id;
  }
  bool is_special_string(int32_t id) const {
    for (const auto& s : split_)
      if (s.id == id) return true;
    return id == ids_.cls || id == ids_.sep || id == ids_.mask;
  }
  bool is_skipped_on_decode(int32_t id) const {
    return id == ids_.pad || id == ids_.cls || id == ids_.sep || id == ids_.eos || id == ids_.bos;
  }
  // Decodes the pending ordinary ids as one sub-text (HF decodes added tokens separately).
  void flush_decode(std::vector<int>& sp_ids, std::vector<std::string>& sub_texts) const {
    if (sp_ids.empty()) return;
    std::string out;
    const auto status = sp_.Decode(sp_ids, &out);
    if (!status.ok()) throw Error(path_ + ": SentencePiece decode failed (" + status.ToString() + ")");
    sub_texts.push_back(std::move(out));
    sp_ids.clear();
  }

  // The SentencePiece model alone on text[begin, end).
  void encode_span(const std::string& text, size_t begin, size_t end, const TextPositions& pos, int32_t type,
                   EncodingBuilder& b) const {
    sentencepiece::ImmutableSentencePieceText spt;
    const auto status = sp_.Encode(std::string_view(text).substr(begin, end - begin), spt.mutable_proto());
    if (!status.ok()) throw Error(path_ + ": SentencePiece encode failed (" + status.ToString() + ")");
    const size_t n = spt.pieces_size();
    for (size_t i = 0; i < n; ++i) {
      const auto p = spt.pieces(static_cast<int>(i));
      const int32_t id = from_sp_id(static_cast<int>(p.id()));
      b.add_bytes(id, id_to_piece(id), static_cast<int64_t>(begin + p.begin()), static_cast<int64_t>(begin + p.end()),
                  pos, type);
    }
  }

  // HF slow-tokenizer `tokenize()`: split out the special strings, strip whitespace for lstrip
  // tokens, encode every remaining segment on its own (each gets its own dummy prefix).
  void encode_hf(const std::string& text, const TextPositions& pos, int32_t type, EncodingBuilder& b) const {
    std::vector<TextSegment> segs = splitter_.split(text);
    for (size_t i = 1; i < segs.size(); ++i) {
      if (segs[i].special < 0 || !split_[segs[i].special].lstrip) continue;
      TextSegment& left = segs[i - 1];
      int64_t cp_end = pos.to_cp(static_cast<int64_t>(left.end));
      const int64_t cp_begin = pos.to_cp(static_cast<int64_t>(left.begin));
      while (cp_end > cp_begin && uni::is_python_space(pos.decoded.cps[cp_end - 1])) --cp_end;
      left.end = static_cast<size_t>(pos.byte_of(cp_end));
    }
    for (const TextSegment& seg : segs) {
      if (seg.begin >= seg.end) continue;
      if (seg.special >= 0) {
        const SplitToken& t = split_[seg.special];
        b.add_bytes(t.id, id_to_piece(t.id), static_cast<int64_t>(seg.begin), static_cast<int64_t>(seg.end), pos,
                    type);
      } else {
        encode_span(text, seg.begin, seg.end, pos, type, b);
      }
    }
  }

  Flavor flavor_;
  std::string path_;
  sentencepiece::SentencePieceProcessor sp_;
  int64_t vocab_size_ = 0;
  std::vector<std::string> low_names_;  // PegasusHF: names of ids 0..105
  std::vector<SplitToken> split_;
  SpecialSplitter splitter_;
  SpecialIds ids_;
};

}  // namespace

Flavor detect_sentencepiece_flavor(const std::string& path, const std::string& contents) {
  const std::vector<SpPiece> pieces = read_sp_pieces(contents, path);
  if (static_cast<int>(pieces.size()) == kPegasusPieces && is_pegasus_layout(pieces)) return Flavor::PegasusHF;
  return Flavor::BigBirdSentencePiece;
}

std::unique_ptr<Tokenizer> make_sentencepiece_tokenizer(const std::string& path, const std::string& contents,
                                                        Flavor flavor) {
  return std::make_unique<SentencePieceTokenizer>(path, contents, flavor);
}

}  // namespace bb::tok
