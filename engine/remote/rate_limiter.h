#pragma once
// Per-client token bucket: `rate` requests per second on average, bursts up to `burst`.
#include <chrono>
#include <map>
#include <mutex>
#include <string>

namespace bb::remote {

class RateLimiter {
 public:
  RateLimiter(double rate_per_s, double burst);  // rate <= 0: unlimited
  bool allow(const std::string& client);         // takes one token if there is one

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point last;
  };
  double rate_, burst_;
  std::mutex mu_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace bb::remote
