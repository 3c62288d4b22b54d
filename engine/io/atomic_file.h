#pragma once
// Atomic file replacement: write to "<path>.tmp-<pid>-<n>" in the same directory, fsync, rename.
#include <cstdint>
#include <span>
#include <string>

namespace bb::io {

// Throws bb::Error naming the path and the OS reason (e.g. "No space left on device").
// On failure the previous file at `path` (if any) is untouched and the temp file removed.
void write_file_atomic(const std::string& path, std::span<const uint8_t> bytes);
void write_file_atomic(const std::string& path, const std::string& text);

std::string read_text_file(const std::string& path);  // throws bb::Error

}  // namespace bb::io
