// libFuzzer target: zip archives (central directory, ZIP64, stored and deflated entries, CRCs) and
// the torch.save zip container on top of them, then every tensor read.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/core/error.h"
#include "engine/io/mapped_file.h"
#include "engine/io/torch_checkpoint.h"
#include "engine/io/zip_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  try {
    bb::io::ZipArchive zip(bb::io::MappedFile::from_bytes(bytes, "fuzz.zip"));
    for (const bb::io::ZipEntry& e : zip.entries()) {
      try {
        zip.read_copy(e);
      } catch (const bb::Error&) {
      }
    }
  } catch (const bb::Error&) {
  }
  try {
    auto c = bb::io::TorchCheckpoint::from_bytes(std::move(bytes), "fuzz.pt");
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
