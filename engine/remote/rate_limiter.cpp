#include "engine/remote/rate_limiter.h"

#include <algorithm>

namespace bb::remote {

RateLimiter::RateLimiter(double rate_per_s, double burst) : rate_(rate_per_s), burst_(std::max(1.0, burst)) {}

bool RateLimiter::allow(const std::string& client) {
  if (rate_ <= 0) return true;
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  if (buckets_.size() > 10000) buckets_.clear();  // bounded memory under many source addresses
  auto [it, fresh] = buckets_.try_emplace(client, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!fresh) {
    b.tokens = std::min(burst_, b.tokens + rate_ * std::chrono::duration<double>(now - b.last).count());
    b.last = now;
  }
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

}  // namespace bb::remote
