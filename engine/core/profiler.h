#pragma once
// Opt-in wall-clock accounting per named engine stage (BIGBIRD_PROFILE=1 or set_enabled(true)).
// Costs one branch per scope when disabled. Used by `bigbird bench --profile` to show where a forward
// pass spends its time.
#include <string>
#include <utility>
#include <vector>

namespace bb::prof {

bool enabled();
void set_enabled(bool on);
void reset();
void add(const char* stage, double seconds);
// (stage, total seconds, calls), largest first.
std::vector<std::pair<std::string, std::pair<double, long>>> report();

class Scope {
 public:
  explicit Scope(const char* stage);
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  const char* stage_;
  double start_ = 0;
};

}  // namespace bb::prof
