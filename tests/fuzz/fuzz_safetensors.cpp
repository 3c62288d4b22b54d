// libFuzzer target: the safetensors reader on arbitrary bytes, then every converting read.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/core/error.h"
#include "engine/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const bb::io::SafetensorsFile f = bb::io::SafetensorsFile::from_bytes(std::vector<uint8_t>(data, data + size), "fuzz");
    for (const bb::io::TensorInfo& t : f.tensors()) {
      try {
        if (bb::io::is_floating(t.dtype)) f.read_f32(t.name);
        else f.read_i64(t.name);
      } catch (const bb::Error&) {
      }
    }
  } catch (const bb::Error&) {
  }
  return 0;
}
