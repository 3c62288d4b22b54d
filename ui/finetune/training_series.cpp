#include "ui/finetune/training_series.h"

#include <algorithm>
#include <cstdio>

namespace bb::ui {

void TrainingSeries::add(const train::TrainingEvent& e) {
  using K = train::TrainingEvent::Kind;
  if (e.total_steps > 0) totalSteps = e.total_steps;
  const double s = double(e.step);
  if (e.kind == K::Step) {
    loss.push_back({s, e.loss});
    lr.push_back({s, e.lr});
    throughput.push_back({s, e.tokens_per_s});
  } else if (e.kind == K::Eval) {
    for (const auto& [name, v] : e.metrics) eval[name].push_back({s, v});
  }
}

void TrainingSeries::truncateAfter(int64_t step) {
  auto cut = [step](std::vector<SeriesPoint>& v) {
    v.erase(std::remove_if(v.begin(), v.end(), [step](const SeriesPoint& p) { return p.step > double(step); }), v.end());
  };
  cut(loss);
  cut(lr);
  cut(throughput);
  for (auto& [name, v] : eval) cut(v);
}

void TrainingSeries::clear() { *this = TrainingSeries{}; }

std::string TrainingSeries::csv() const {
  std::string out = "step,loss,lr,tokens_per_s\n";
  char buf[128];
  for (size_t i = 0; i < loss.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%.0f,%.6g,%.6g,%.6g\n", loss[i].step, loss[i].value, lr[i].value, throughput[i].value);
    out += buf;
  }
  return out;
}

}  // namespace bb::ui
