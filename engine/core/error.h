#pragma once
// One exception type for every user-facing failure: the message is one clear line that names
// the file, tensor or key involved. Callers (CLI, GUI) print it; they never see a crash.
#include <stdexcept>
#include <string>

namespace bb {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace bb
