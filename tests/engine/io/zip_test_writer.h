#pragma once
// Builds small STORED zip archives in memory (for crafting torch.save-like files in tests).
#include <zlib.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace bb::testing {

inline std::vector<uint8_t> make_zip(const std::vector<std::pair<std::string, std::string>>& files) {
  std::vector<uint8_t> out, cd;
  auto put16 = [](std::vector<uint8_t>& v, uint32_t x) { v.push_back(uint8_t(x)); v.push_back(uint8_t(x >> 8)); };
  auto put32 = [&](std::vector<uint8_t>& v, uint32_t x) { put16(v, x & 0xFFFF); put16(v, x >> 16); };
  for (const auto& [name, data] : files) {
    const uint32_t crc = uint32_t(::crc32(0, reinterpret_cast<const Bytef*>(data.data()), uInt(data.size())));
    const uint32_t offset = uint32_t(out.size());
    put32(out, 0x04034b50); put16(out, 20); put16(out, 0); put16(out, 0); put32(out, 0);
    put32(out, crc); put32(out, uint32_t(data.size())); put32(out, uint32_t(data.size()));
    put16(out, uint32_t(name.size())); put16(out, 0);
    out.insert(out.end(), name.begin(), name.end());
    out.insert(out.end(), data.begin(), data.end());
    put32(cd, 0x02014b50); put16(cd, 20); put16(cd, 20); put16(cd, 0); put16(cd, 0); put32(cd, 0);
    put32(cd, crc); put32(cd, uint32_t(data.size())); put32(cd, uint32_t(data.size()));
    put16(cd, uint32_t(name.size())); put16(cd, 0); put16(cd, 0); put16(cd, 0); put16(cd, 0); put32(cd, 0);
    put32(cd, offset);
    cd.insert(cd.end(), name.begin(), name.end());
  }
  const uint32_t cd_offset = uint32_t(out.size());
  out.insert(out.end(), cd.begin(), cd.end());
  put32(out, 0x06054b50); put16(out, 0); put16(out, 0); put16(out, uint32_t(files.size())); put16(out, uint32_t(files.size()));
  put32(out, uint32_t(cd.size())); put32(out, cd_offset); put16(out, 0);
  return out;
}

}  // namespace bb::testing
