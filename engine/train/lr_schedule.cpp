#include "engine/train/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "engine/core/error.h"

namespace bb::train {

ScheduleKind parse_schedule(const std::string& s) {
  if (s == "constant") return ScheduleKind::Constant;
  if (s == "constant-warmup") return ScheduleKind::ConstantWarmup;
  if (s == "linear") return ScheduleKind::Linear;
  if (s == "polynomial") return ScheduleKind::Polynomial;
  if (s == "tf-linear") return ScheduleKind::TFLinear;
  throw Error("unknown schedule '" + s + "' (expected constant, constant-warmup, linear, polynomial or tf-linear)");
}

std::string to_string(ScheduleKind k) {
  switch (k) {
    case ScheduleKind::Constant:
      return "constant";
    case ScheduleKind::ConstantWarmup:
      return "constant-warmup";
    case ScheduleKind::Linear:
      return "linear";
    case ScheduleKind::Polynomial:
      return "polynomial";
    case ScheduleKind::TFLinear:
      return "tf-linear";
  }
  return "?";
}

double lr_at(const ScheduleConfig& s, int64_t k) {
  const double step = double(k), warm = double(s.warmup_steps), total = double(s.total_steps);
  const bool warming = s.kind != ScheduleKind::Constant && k < s.warmup_steps;
  if (warming) return s.lr * step / std::max(1.0, warm);
  switch (s.kind) {
    case ScheduleKind::Constant:
    case ScheduleKind::ConstantWarmup:
      return s.lr;
    case ScheduleKind::Linear:
      return s.lr * std::max(0.0, (total - step) / std::max(1.0, total - warm));
    case ScheduleKind::Polynomial: {
      if (k > s.total_steps) return s.end_lr;
      const double frac = 1.0 - (step - warm) / std::max(1.0, total - warm);
      return (s.lr - s.end_lr) * std::pow(frac, s.power) + s.end_lr;
    }
    case ScheduleKind::TFLinear:
      return s.lr * (1.0 - std::min(step, total) / std::max(1.0, total));
  }
  return s.lr;
}

}  // namespace bb::train
