#pragma once
// Constructors behind load_tokenizer(); `contents` is the whole vocabulary file, `path` names it in errors.
#include <memory>
#include <string>

#include "engine/tokenize/tokenizer.h"

namespace bb::tok {

// `flavor` is BigBirdSentencePiece, PegasusHF or PegasusTF; the model's layout is checked against it.
std::unique_ptr<Tokenizer> make_sentencepiece_tokenizer(const std::string& path, const std::string& contents,
                                                        Flavor flavor);
// Detects BigBirdSentencePiece or PegasusHF from the pieces of a serialized SentencePiece model.
Flavor detect_sentencepiece_flavor(const std::string& path, const std::string& contents);

std::unique_ptr<Tokenizer> make_wordpiece_tokenizer(const std::string& path, const std::string& contents);

}  // namespace bb::tok
