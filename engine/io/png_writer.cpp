#include "engine/io/png_writer.h"

#include <zlib.h>

#include <algorithm>

#include "engine/core/error.h"
#include "engine/io/atomic_file.h"

namespace bb::io {

void RgbImage::fill_rect(int x, int y, int w, int h, uint32_t color) {
  const int x0 = std::max(0, x), y0 = std::max(0, y);
  const int x1 = std::min(width, x + w), y1 = std::min(height, y + h);
  for (int yy = y0; yy < y1; ++yy)
    for (int xx = x0; xx < x1; ++xx) {
      uint8_t* p = rgb.data() + (size_t(yy) * size_t(width) + size_t(xx)) * 3;
      p[0] = uint8_t(color >> 16);
      p[1] = uint8_t(color >> 8);
      p[2] = uint8_t(color);
    }
}

namespace {

void put_u32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(uint8_t(v >> (8 * i)));
}

void chunk(std::vector<uint8_t>& out, const char* type, const std::vector<uint8_t>& data) {
  put_u32(out, uint32_t(data.size()));
  const size_t start = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  uLong crc = crc32(0L, out.data() + start, uInt(out.size() - start));
  put_u32(out, uint32_t(crc));
}

}  // namespace

std::vector<uint8_t> encode_png(const RgbImage& img) {
  if (img.width <= 0 || img.height <= 0 || img.rgb.size() != size_t(img.width) * size_t(img.height) * 3)
    throw Error("PNG: invalid image size");
  std::vector<uint8_t> raw;
  raw.reserve(size_t(img.height) * (size_t(img.width) * 3 + 1));
  for (int y = 0; y < img.height; ++y) {
    raw.push_back(0);  // filter: none
    const uint8_t* row = img.rgb.data() + size_t(y) * size_t(img.width) * 3;
    raw.insert(raw.end(), row, row + size_t(img.width) * 3);
  }
  uLongf bound = compressBound(uLong(raw.size()));
  std::vector<uint8_t> z(bound);
  if (compress2(z.data(), &bound, raw.data(), uLong(raw.size()), 6) != Z_OK) throw Error("PNG: zlib compression failed");
  z.resize(bound);

  std::vector<uint8_t> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  std::vector<uint8_t> ihdr;
  put_u32(ihdr, uint32_t(img.width));
  put_u32(ihdr, uint32_t(img.height));
  ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});  // 8-bit, RGB, deflate, no filter, no interlace
  chunk(out, "IHDR", ihdr);
  chunk(out, "IDAT", z);
  chunk(out, "IEND", {});
  return out;
}

void write_png(const std::string& path, const RgbImage& img) {
  std::vector<uint8_t> bytes = encode_png(img);
  write_file_atomic(path, std::span<const uint8_t>(bytes.data(), bytes.size()));
}

}  // namespace bb::io
