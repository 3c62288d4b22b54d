#include "engine/tokenize/encoding_builder.h"

namespace bb::tok {

void EncodingBuilder::add_cp(int32_t id, std::string piece, int64_t cp_begin, int64_t cp_end,
                             const TextPositions& pos, int32_t type) {
  enc_.ids.push_back(id);
  enc_.pieces.push_back(std::move(piece));
  enc_.offsets.emplace_back(cp_begin, cp_end);
  enc_.offsets_utf8.emplace_back(pos.byte_of(cp_begin), pos.byte_of(cp_end));
  enc_.token_type_ids.push_back(type);
}

void EncodingBuilder::add_bytes(int32_t id, std::string piece, int64_t byte_begin, int64_t byte_end,
                                const TextPositions& pos, int32_t type) {
  enc_.ids.push_back(id);
  enc_.pieces.push_back(std::move(piece));
  enc_.offsets.emplace_back(pos.to_cp(byte_begin), pos.to_cp(byte_end));
  enc_.offsets_utf8.emplace_back(byte_begin, byte_end);
  enc_.token_type_ids.push_back(type);
}

void EncodingBuilder::add_inserted(int32_t id, std::string piece, int32_t type) {
  enc_.ids.push_back(id);
  enc_.pieces.push_back(std::move(piece));
  enc_.offsets.emplace_back(0, 0);
  enc_.offsets_utf8.emplace_back(0, 0);
  enc_.token_type_ids.push_back(type);
}

}  // namespace bb::tok
