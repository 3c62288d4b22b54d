#pragma once
// A minimal reader/editor for the protobuf wire format of a serialized SentencePiece ModelProto
// (sentencepiece_model.proto). libsentencepiece does not install its generated protobuf headers,
// so the few edits we need (dropping pieces, fixing trainer ids) are done on the bytes directly.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bb::tok {

// ModelProto.SentencePiece.Type
enum class SpPieceType : int { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };

struct SpPiece {
  std::string piece;
  float score = 0.0f;
  SpPieceType type = SpPieceType::Normal;
};

// Pieces of ModelProto field 1, in id order. `what` names the file in error messages.
// Throws bb::Error when the bytes are not a well-formed message with at least one piece.
std::vector<SpPiece> read_sp_pieces(std::string_view proto, const std::string& what);

// The same message with pieces [first, last] (ids, inclusive) removed and, when present,
// TrainerSpec.unk_id / bos_id (fields 40/41) replaced by the given values. Every other byte is kept.
std::string remove_sp_pieces(std::string_view proto, int first, int last, int new_unk_id, int new_bos_id,
                             const std::string& what);

}  // namespace bb::tok
