#pragma once
// Tokenizers for the BigBird family, reproducing HF's slow tokenizers id for id and reporting
// where every token came from in the source text (the UI highlights text through these offsets).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace bb::tok {

struct Encoding {
  std::vector<int32_t> ids;
  std::vector<std::string> pieces;  // vocabulary string of each id
  // [begin, end) into the source text, in Unicode code points and in UTF-8 bytes.
  // Special tokens inserted by the tokenizer ([CLS], [SEP], </s>) get [0,0) (HF convention).
  std::vector<std::pair<int64_t, int64_t>> offsets;
  std::vector<std::pair<int64_t, int64_t>> offsets_utf8;
  std::vector<int32_t> token_type_ids;  // 0 for the first segment, 1 for the pair segment
};

enum class Flavor {
  BigBirdSentencePiece,  // gpt2.model with HF BigBirdTokenizer conventions ([CLS] A [SEP])
  PegasusHF,             // pegasus.model with HF PegasusTokenizer conventions (offset 103, appends </s>)
  PegasusTF,             // pegasus.model as google-research/bigbird uses it (ids as in the file, no EOS)
  WordPiece,             // vocab.txt with HF BertTokenizer semantics (KoBigBird)
};

struct SpecialIds {
  int32_t pad = 0, unk = -1, cls = -1, sep = -1, mask = -1, bos = -1, eos = -1;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual Flavor flavor() const = 0;
  virtual int64_t vocab_size() const = 0;
  virtual SpecialIds special_ids() const = 0;
  virtual std::string id_to_piece(int32_t id) const = 0;  // throws bb::Error when out of range
  virtual std::optional<int32_t> piece_to_id(const std::string& piece) const = 0;

  // The tokenizer's own segmentation, no special tokens added (fixture mode "raw_pieces"):
  //   SentencePiece flavors: the model alone on the whole text (special strings are not cut out;
  //   PegasusHF reports the ids shifted by 103); WordPiece: HF BertTokenizer.tokenize (special
  //   strings are cut out). Offsets are filled for every token.
  virtual Encoding encode_raw(const std::string& text) const = 0;
  // What HF `tokenizer(text[, pair])` returns as input_ids (fixture mode "hf_model_inputs").
  // Offsets of pair tokens index `pair`. PegasusTF: same as encode_raw (TF adds no EOS); a pair is an error.
  virtual Encoding encode(const std::string& text, const std::optional<std::string>& pair = std::nullopt) const = 0;
  // Text for ids, skipping pad/cls/sep/bos/eos when skip_special is set ([MASK] and unk stay).
  // Like HF's slow decode, special strings are separate words; BigBird removes the space before
  // [MASK]/[SEP]; HF's clean_up_tokenization_spaces is not applied. PegasusTF keeps "<n>" as text
  // (see pegasus_tf_postprocess).
  virtual std::string decode(const std::vector<int32_t>& ids, bool skip_special = true) const = 0;
};

// Invalid UTF-8 in `text` is a bb::Error naming the byte offset (never silently replaced).
void validate_utf8(const std::string& text);

// Loads a vocabulary: *.model (SentencePiece) or vocab.txt (WordPiece). Flavor is detected
// from the file (pegasus.model: 96103 pieces with "<n>" at 106 -> PegasusHF) unless given.
// WordPiece reads "<prefix>special_tokens_map.json" / "<prefix>tokenizer_config.json" next to
// "<prefix>vocab.txt" when present (KoBigBird's lives in resources/vocab as kobigbird-*).
// Errors (missing/empty/garbage file, wrong layout for the requested flavor) are bb::Error.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path, std::optional<Flavor> flavor = std::nullopt);
Flavor parse_flavor(const std::string& s);  // bigbird|pegasus-hf|pegasus-tf|wordpiece
std::string to_string(Flavor f);

// BigBird-Pegasus TF convention (run_summarization.py), applied to a document before PegasusTF
// encoding: "\n" -> "<n>", then re.sub(r" ([<\[]\S+[>\]])", r"\1", text). Validates UTF-8.
std::string pegasus_tf_preprocess(const std::string& text);
// The reverse for generated text: every "<n>" becomes "\n".
std::string pegasus_tf_postprocess(const std::string& text);

}  // namespace bb::tok
