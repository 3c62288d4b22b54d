#include "engine/core/profiler.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>

namespace bb::prof {
namespace {

std::mutex mu;
std::map<std::string, std::pair<double, long>>& table() {
  static std::map<std::string, std::pair<double, long>> t;
  return t;
}
bool& flag() {
  static bool on = [] {
    const char* e = std::getenv("BIGBIRD_PROFILE");
    return e && *e && std::string(e) != "0";
  }();
  return on;
}
double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

}  // namespace

bool enabled() { return flag(); }
void set_enabled(bool on) { flag() = on; }

void reset() {
  std::lock_guard<std::mutex> lock(mu);
  table().clear();
}

void add(const char* stage, double seconds) {
  std::lock_guard<std::mutex> lock(mu);
  auto& e = table()[stage];
  e.first += seconds;
  e.second += 1;
}

std::vector<std::pair<std::string, std::pair<double, long>>> report() {
  std::lock_guard<std::mutex> lock(mu);
  std::vector<std::pair<std::string, std::pair<double, long>>> out(table().begin(), table().end());
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
  return out;
}

Scope::Scope(const char* stage) : stage_(stage) {
  if (enabled()) start_ = now();
}

Scope::~Scope() {
  if (enabled()) add(stage_, now() - start_);
}

}  // namespace bb::prof
