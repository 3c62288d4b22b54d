#pragma once
// Shared by the backend tests: an environment variable set for one scope (fault injection, limits)
// and a collector of the backend's one-line notices (CPU fallbacks, "not on the GPU yet").
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "engine/backend/backend.h"

namespace bbtest {

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_)
      setenv(name_, old_->c_str(), 1);
    else
      unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

struct Notices {
  std::vector<std::string> lines;
  Notices() {
    bb::backend::set_notice_handler([this](const std::string& l) { lines.push_back(l); });
  }
  ~Notices() { bb::backend::set_notice_handler(nullptr); }
  Notices(const Notices&) = delete;
  Notices& operator=(const Notices&) = delete;
};

}  // namespace bbtest
