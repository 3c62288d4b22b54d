#include "engine/train/optimizer.h"

#include <algorithm>
#include <cmath>

#include "engine/core/error.h"
#include "engine/core/profiler.h"
#include "engine/core/thread_pool.h"

namespace bb::train {

OptimizerKind parse_optimizer(const std::string& s) {
  if (s == "adamw") return OptimizerKind::AdamW;
  if (s == "adam-weight-decay" || s == "adamweightdecay") return OptimizerKind::AdamWeightDecay;
  throw Error("unknown optimizer '" + s + "' (expected adamw or adam-weight-decay)");
}

std::string to_string(OptimizerKind k) { return k == OptimizerKind::AdamW ? "adamw" : "adam-weight-decay"; }

double OptimizerConfig::effective_eps() const {
  if (eps >= 0) return eps;
  return kind == OptimizerKind::AdamW ? 1e-8 : 1e-6;
}

bool Optimizer::decays(const std::string& name) const {
  if (config_.weight_decay == 0.0) return false;
  for (const std::string& pattern : config_.no_decay)
    if (name.find(pattern) != std::string::npos) return false;
  return true;
}

namespace {
template <typename F>
void for_chunks(int64_t n, F f) {
  constexpr int64_t kChunk = 1 << 15;
  parallel_for(0, (n + kChunk - 1) / kChunk, [&](int64_t c) { f(c * kChunk, std::min(n, (c + 1) * kChunk)); });
}
}  // namespace

void Optimizer::step(ParameterStore& params, const ParameterStore& grads, double lr,
                     const std::set<std::string>& skip) {
  prof::Scope scope("train: optimizer");
  ++step_;
  const double b1 = config_.beta1, b2 = config_.beta2, eps = config_.effective_eps();
  const double bc1 = 1.0 - std::pow(b1, double(step_)), bc2 = 1.0 - std::pow(b2, double(step_));
  for (const std::string& name : params.names()) {
    if (skip.count(name)) continue;
    Tensor& w = params.mutable_get(name);
    const Tensor& g = grads.get(name);
    if (g.shape() != w.shape()) throw Error("gradient of '" + name + "' has the wrong shape");
    Tensor& m = m_[name];
    Tensor& v = v_[name];
    if (m.empty()) m = Tensor(w.shape());
    if (v.empty()) v = Tensor(w.shape());
    const float wd = decays(name) ? float(config_.weight_decay) : 0.0f;
    // Coefficients rounded to fp32 from double, as torch passes Python floats to fp32 kernels
    // (1 - β2 in fp32 arithmetic would be off by 5e-5 relative).
    const float fb1 = float(b1), fb2 = float(b2), c1 = float(1.0 - b1), c2 = float(1.0 - b2);
    const float flr = float(lr), feps = float(eps);
    float* pw = w.data();
    const float* pg = g.data();
    float* pm = m.data();
    float* pv = v.data();
    if (config_.kind == OptimizerKind::AdamW) {
      // torch's single-tensor AdamW: decay first, then the bias-corrected Adam step.
      const float step_size = float(lr / bc1), bc2_sqrt = float(std::sqrt(bc2));
      const float decay = float(1.0 - lr * (wd != 0.0f ? config_.weight_decay : 0.0));
      for_chunks(w.numel(), [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          pw[i] *= decay;
          pm[i] = fb1 * pm[i] + c1 * pg[i];
          pv[i] = fb2 * pv[i] + c2 * pg[i] * pg[i];
          pw[i] -= step_size * pm[i] / (std::sqrt(pv[i]) / bc2_sqrt + feps);
        }
      });
    } else {
      for_chunks(w.numel(), [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          pm[i] = fb1 * pm[i] + c1 * pg[i];
          pv[i] = fb2 * pv[i] + c2 * pg[i] * pg[i];
          const float u = pm[i] / (std::sqrt(pv[i]) + feps) + wd * pw[i];
          pw[i] -= flr * u;
        }
      });
    }
  }
}

void Optimizer::restore(int64_t steps, std::map<std::string, Tensor> m, std::map<std::string, Tensor> v) {
  step_ = steps;
  m_ = std::move(m);
  v_ = std::move(v);
}

double global_grad_norm(const ParameterStore& grads, const std::set<std::string>& skip) {
  double total = 0.0;
  for (const std::string& name : grads.names()) {
    if (skip.count(name)) continue;
    const Tensor& g = grads.get(name);
    double s = 0.0;
    for (int64_t i = 0; i < g.numel(); ++i) s += double(g[i]) * double(g[i]);
    total += s;
  }
  return std::sqrt(total);
}

double clip_grad_norm(ParameterStore& grads, double max_norm, const std::set<std::string>& skip) {
  const double norm = global_grad_norm(grads, skip);
  if (max_norm <= 0.0) return norm;
  const double coef = max_norm / (norm + 1e-6);
  if (coef < 1.0)
    for (const std::string& name : grads.names()) {
      if (skip.count(name)) continue;
      Tensor& g = grads.mutable_get(name);
      const float c = float(coef);
      for (int64_t i = 0; i < g.numel(); ++i) g[i] *= c;
    }
  return norm;
}

}  // namespace bb::train
