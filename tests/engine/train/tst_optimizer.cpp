// Optimizers, learning-rate schedules and gradient clipping against their definitions
// (torch.optim.AdamW, BigBird's TF AdamWeightDecay, HF / TF schedules, clip_grad_norm_).
#include <gtest/gtest.h>

#include <cmath>

#include "engine/train/lr_schedule.h"
#include "engine/train/optimizer.h"
#include "tests/engine/train/grad_check.h"

using namespace bb;
using namespace bb::train;

namespace {

ParameterStore store_of(const std::map<std::string, std::vector<double>>& values) {
  ParameterStore p;
  for (const auto& [name, v] : values) {
    std::vector<float> f(v.begin(), v.end());
    p.set(name, Tensor::from({int64_t(v.size())}, f));
  }
  return p;
}

// fp64 reference of one torch AdamW / TF AdamWeightDecay update.
struct RefAdam {
  std::vector<double> w, m, v;
  void step(const std::vector<double>& g, double lr, double b1, double b2, double eps, double wd, bool torch_adamw,
            int t) {
    for (size_t i = 0; i < w.size(); ++i) {
      if (torch_adamw) w[i] *= 1 - lr * wd;
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      if (torch_adamw) {
        const double bc1 = 1 - std::pow(b1, t), bc2 = 1 - std::pow(b2, t);
        w[i] -= lr / bc1 * m[i] / (std::sqrt(v[i]) / std::sqrt(bc2) + eps);
      } else {
        w[i] -= lr * (m[i] / (std::sqrt(v[i]) + eps) + wd * w[i]);
      }
    }
  }
};

void check_optimizer(OptimizerKind kind) {
  const size_t n = 50;
  const std::vector<double> w0 = bbtest::random_vector(n, 1), b0 = bbtest::random_vector(n, 2);
  ParameterStore params = store_of({{"layer.dense.weight", w0}, {"layer.LayerNorm.weight", b0}, {"pooler.weight", w0}});
  OptimizerConfig cfg;
  cfg.kind = kind;
  cfg.weight_decay = 0.1;
  Optimizer opt(cfg);
  EXPECT_TRUE(opt.decays("layer.dense.weight"));
  EXPECT_FALSE(opt.decays("layer.LayerNorm.weight"));
  EXPECT_FALSE(opt.decays("layer.dense.bias"));
  const bool torch = kind == OptimizerKind::AdamW;
  const double eps = torch ? 1e-8 : 1e-6;
  EXPECT_EQ(cfg.effective_eps(), eps);
  RefAdam dense{w0, std::vector<double>(n, 0), std::vector<double>(n, 0)};
  RefAdam ln{b0, std::vector<double>(n, 0), std::vector<double>(n, 0)};
  for (int t = 1; t <= 5; ++t) {
    const std::vector<double> g1 = bbtest::random_vector(n, 10 + t), g2 = bbtest::random_vector(n, 20 + t);
    ParameterStore grads =
        store_of({{"layer.dense.weight", g1}, {"layer.LayerNorm.weight", g2}, {"pooler.weight", g1}});
    const double lr = 1e-2 * t;
    opt.step(params, grads, lr, {"pooler.weight"});
    dense.step(g1, lr, 0.9, 0.999, eps, 0.1, torch, t);
    ln.step(g2, lr, 0.9, 0.999, eps, 0.0, torch, t);
  }
  EXPECT_EQ(opt.steps(), 5);
  for (size_t i = 0; i < n; ++i) {
    EXPECT_NEAR(params.get("layer.dense.weight")[int64_t(i)], dense.w[i], 2e-6);
    EXPECT_NEAR(params.get("layer.LayerNorm.weight")[int64_t(i)], ln.w[i], 2e-6);
    EXPECT_EQ(params.get("pooler.weight")[int64_t(i)], float(w0[i])) << "a skipped parameter is left untouched";
  }
  EXPECT_EQ(opt.m().count("pooler.weight"), 0u);
}

TEST(Optimizer, AdamWMatchesTorchSemantics) { check_optimizer(OptimizerKind::AdamW); }
TEST(Optimizer, AdamWeightDecayMatchesBigBirdTF) { check_optimizer(OptimizerKind::AdamWeightDecay); }

TEST(Optimizer, RestoredStateContinuesIdentically) {
  const std::vector<double> w0 = bbtest::random_vector(20, 3);
  ParameterStore a = store_of({{"w", w0}}), b = store_of({{"w", w0}});
  Optimizer oa{OptimizerConfig{}}, ob{OptimizerConfig{}};
  ParameterStore g = store_of({{"w", bbtest::random_vector(20, 4)}});
  oa.step(a, g, 0.1);
  ob.step(b, g, 0.1);
  std::map<std::string, Tensor> m, v;
  m["w"] = ob.m().at("w").clone();
  v["w"] = ob.v().at("w").clone();
  Optimizer oc{OptimizerConfig{}};
  oc.restore(ob.steps(), std::move(m), std::move(v));
  oa.step(a, g, 0.1);
  oc.step(b, g, 0.1);
  for (int64_t i = 0; i < 20; ++i) EXPECT_EQ(a.get("w")[i], b.get("w")[i]);
}

TEST(Schedule, HFLinearWithWarmup) {
  ScheduleConfig s{ScheduleKind::Linear, 1.0, 10, 110};
  EXPECT_EQ(lr_at(s, 0), 0.0);  // HF: the first update runs at lr 0 when warming up
  EXPECT_DOUBLE_EQ(lr_at(s, 5), 0.5);
  EXPECT_DOUBLE_EQ(lr_at(s, 10), 1.0);
  EXPECT_DOUBLE_EQ(lr_at(s, 60), 0.5);
  EXPECT_DOUBLE_EQ(lr_at(s, 110), 0.0);
  EXPECT_DOUBLE_EQ(lr_at(s, 200), 0.0);
}

TEST(Schedule, PolynomialConstantAndBigBirdTF) {
  ScheduleConfig p{ScheduleKind::Polynomial, 1.0, 0, 100, 2.0, 0.0};
  EXPECT_DOUBLE_EQ(lr_at(p, 0), 1.0);
  EXPECT_DOUBLE_EQ(lr_at(p, 50), 0.25);
  EXPECT_DOUBLE_EQ(lr_at(p, 150), 0.0);
  ScheduleConfig c{ScheduleKind::Constant, 0.3, 10, 100};
  EXPECT_DOUBLE_EQ(lr_at(c, 0), 0.3);
  ScheduleConfig cw{ScheduleKind::ConstantWarmup, 0.3, 10, 100};
  EXPECT_DOUBLE_EQ(lr_at(cw, 5), 0.15);
  EXPECT_DOUBLE_EQ(lr_at(cw, 50), 0.3);
  // BigBird TF: decay over the whole run, the warmup only overrides the start.
  ScheduleConfig tf{ScheduleKind::TFLinear, 1.0, 10, 100};
  EXPECT_DOUBLE_EQ(lr_at(tf, 5), 0.5);
  EXPECT_DOUBLE_EQ(lr_at(tf, 10), 0.9);
  EXPECT_DOUBLE_EQ(lr_at(tf, 100), 0.0);
  EXPECT_THROW(parse_schedule("cosine"), Error);
}

TEST(Clipping, GlobalNormAsTorch) {
  ParameterStore g = store_of({{"a", {3.0, 0.0}}, {"b", {4.0}}, {"skip", {100.0}}});
  EXPECT_DOUBLE_EQ(global_grad_norm(g, {"skip"}), 5.0);
  const double before = clip_grad_norm(g, 1.0, {"skip"});
  EXPECT_DOUBLE_EQ(before, 5.0);
  const float coef = float(1.0 / (5.0 + 1e-6));
  EXPECT_FLOAT_EQ(g.get("a")[0], 3.0f * coef);
  EXPECT_FLOAT_EQ(g.get("b")[0], 4.0f * coef);
  EXPECT_EQ(g.get("skip")[0], 100.0f);
  // Below the threshold nothing changes.
  ParameterStore small = store_of({{"a", {0.3}}});
  clip_grad_norm(small, 1.0);
  EXPECT_EQ(small.get("a")[0], 0.3f);
}

}  // namespace
