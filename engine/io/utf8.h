#pragma once
// Strict UTF-8 validation (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF),
// the same acceptance rule as Rust's std::str::from_utf8 used by the safetensors reference.
#include <cstddef>
#include <string_view>

namespace bb::io {

// Returns true if `text` is valid UTF-8; otherwise false and *bad_offset = offset of the first bad byte.
bool is_valid_utf8(std::string_view text, size_t* bad_offset = nullptr);

}  // namespace bb::io
