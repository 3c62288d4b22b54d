#pragma once
// Learning-rate schedules. lr_at(k) is the rate of optimizer update k (0-based), the value HF's
// LambdaLR gives the k-th optimizer.step() and TF's global_step k:
//   constant                 lr
//   constant-warmup          lr · min(1, k / warmup)
//   linear (HF)              warmup, then lr · max(0, (T − k) / (T − warmup))
//   polynomial (HF)          warmup, then (lr − end)·(1 − (k − warmup)/(T − warmup))^power + end; end after T
//   tf-linear (BigBird TF)   k < warmup: lr · k / warmup; else lr · (1 − min(k, T) / T)  (decay over all T)
#include <cstdint>
#include <string>

namespace bb::train {

enum class ScheduleKind { Constant, ConstantWarmup, Linear, Polynomial, TFLinear };
ScheduleKind parse_schedule(const std::string& s);  // constant|constant-warmup|linear|polynomial|tf-linear
std::string to_string(ScheduleKind k);

struct ScheduleConfig {
  ScheduleKind kind = ScheduleKind::Linear;
  double lr = 5e-5;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  double power = 1.0;    // polynomial
  double end_lr = 1e-7;  // polynomial (HF default lr_end)
};

double lr_at(const ScheduleConfig& s, int64_t step);

}  // namespace bb::train
