// libFuzzer target: torch.save legacy streams (five pickles + raw storages) through the restricted
// pickle interpreter and the storage/view validation, then every tensor read.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/core/error.h"
#include "engine/io/torch_checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size >= 2 && data[0] == 'P' && data[1] == 'K') return 0;  // zip inputs belong to fuzz_torch_zip
  try {
    auto c = bb::io::TorchCheckpoint::from_bytes(std::vector<uint8_t>(data, data + size), "fuzz.pt");
    for (const auto& t : c->tensors()) {
      try {
        c->read_bytes(t.name);
        if (bb::io::is_floating(t.dtype)) c->read_f32(t.name);
      } catch (const bb::Error&) {
      }
    }
  } catch (const bb::Error&) {
  }
  return 0;
}
