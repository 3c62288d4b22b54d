// libFuzzer target: config.json parsing and validation (strict JSON, duplicate keys, ranges), the
// round trip through config_to_json, and the parameter manifest a valid config implies.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/core/error.h"
#include "engine/io/parameter_manifest.h"
#include "engine/models/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const bb::ModelConfig c = bb::parse_config_json(std::string(reinterpret_cast<const char*>(data), size), "fuzz.json");
    const bb::ModelConfig again = bb::parse_config_json(bb::config_to_json(c), "round trip");
    if (again.hidden_size != c.hidden_size || again.vocab_size != c.vocab_size) __builtin_trap();
    if (c.num_hidden_layers <= 64 && c.decoder_layers <= 64) bb::io::expected_parameters(c);
  } catch (const bb::Error&) {
  }
  return 0;
}
