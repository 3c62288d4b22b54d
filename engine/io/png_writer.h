#pragma once
// Writes 8-bit RGB images as PNG (zlib), atomically. Used by the headless `bigbird mask --format png`.
#include <cstdint>
#include <string>
#include <vector>

namespace bb::io {

struct RgbImage {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // width * height * 3
  void fill_rect(int x, int y, int w, int h, uint32_t color);  // 0xRRGGBB, clipped
};

std::vector<uint8_t> encode_png(const RgbImage& img);
void write_png(const std::string& path, const RgbImage& img);  // throws bb::Error

}  // namespace bb::io
