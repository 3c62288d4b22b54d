// libFuzzer target: TensorFlow tensor bundles. An input is either a bare .index file (LevelDB table,
// snappy blocks, bundle header and entry protos, slice keys) or "BBTF" + u32 index length + index +
// data shard 0, so tensor reads, partitioned variables, string tensors and the TF2 object graph
// are reached too. The raw snappy decoder gets the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "engine/core/error.h"
#include "engine/io/sstable.h"
#include "engine/io/tf_bundle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> index(data, data + size);
  std::optional<std::vector<uint8_t>> shard;
  if (size >= 8 && std::memcmp(data, "BBTF", 4) == 0) {
    uint32_t n;
    std::memcpy(&n, data + 4, 4);
    if (n > size - 8) return 0;
    index.assign(data + 8, data + 8 + n);
    shard.emplace(data + 8 + n, data + size);
  }
  try {
    auto b = bb::io::TfBundle::from_index_bytes(std::move(index), "/nonexistent/fuzz", std::move(shard));
    for (const auto& t : b->tensors()) {
      try {
        b->read_bytes(t.name);
        if (bb::io::is_floating(t.dtype)) b->read_f32(t.name);
      } catch (const bb::Error&) {
      }
    }
    for (const auto& e : b->entries()) {
      if (e.tf_dtype != 7) continue;  // DT_STRING
      try {
        b->read_strings(e.key);
      } catch (const bb::Error&) {
      }
    }
  } catch (const bb::Error&) {
  }
  try {
    bb::io::snappy_uncompress({data, size}, "fuzz");
  } catch (const bb::Error&) {
  }
  return 0;
}
