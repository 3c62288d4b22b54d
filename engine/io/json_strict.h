#pragma once
// JSON parsing that refuses duplicate object keys. nlohmann::json (like Python's json) silently
// keeps the last duplicate; safetensors headers must reject them (checkpoint-formats.md §1.2) and a
// config.json with two different "hidden_size" values is a broken file, not a choice to make for the user.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace bb::io {

// Throws bb::Error "<label>: invalid JSON: ..." or "<label>: duplicate key "k" in JSON object".
// Integers stay integers (number_unsigned / number_integer); numbers beyond 64 bits become floats.
nlohmann::json parse_json_strict(std::string_view text, const std::string& label);

// `s` in double quotes for an error message: quotes, backslashes and control bytes escaped (so the
// message stays one line), cut to about 100 bytes with "..." so a hostile name cannot flood a log.
std::string quote_for_message(std::string_view s);

}  // namespace bb::io
