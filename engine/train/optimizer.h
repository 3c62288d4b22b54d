#pragma once
// Optimizers over a model's named parameters (bigbird-spec.md §7.1):
//   AdamW           PyTorch torch.optim.AdamW: w -= lr·λ·w; m, v updated; bias-corrected step
//                   w -= lr/(1−β1^t) · m / (sqrt(v)/sqrt(1−β2^t) + ε). Defaults β 0.9/0.999, ε 1e-8, λ 0.01.
//   AdamWeightDecay BigBird's TF optimizer (BERT-style, no bias correction): u = m / (sqrt(v) + ε)
//                   (+ λ·w unless the name matches LayerNorm / layer_norm / bias); w -= lr·u. ε 1e-6.
// Weight decay exclusions are configurable for both (HF Trainer excludes biases and LayerNorm
// weights for AdamW too). Parameters listed as unused (no gradient) are skipped entirely, as torch
// skips parameters whose .grad is None.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/core/tensor.h"
#include "engine/models/parameters.h"

namespace bb::train {

enum class OptimizerKind { AdamW, AdamWeightDecay };
OptimizerKind parse_optimizer(const std::string& s);  // adamw | adam-weight-decay
std::string to_string(OptimizerKind k);

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::AdamW;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = -1.0;  // < 0: 1e-8 for AdamW, 1e-6 for AdamWeightDecay
  double weight_decay = 0.01;
  // Substrings that exempt a parameter from weight decay. Default: {"LayerNorm", "layer_norm", "bias"}.
  std::vector<std::string> no_decay = {"LayerNorm", "layer_norm", "bias"};
  double effective_eps() const;
};

class Optimizer {
 public:
  explicit Optimizer(OptimizerConfig config) : config_(std::move(config)) {}
  const OptimizerConfig& config() const { return config_; }

  // One update of every parameter in `params` (except `skip`) from `grads` with learning rate lr.
  void step(ParameterStore& params, const ParameterStore& grads, double lr, const std::set<std::string>& skip = {});
  bool decays(const std::string& name) const;

  int64_t steps() const { return step_; }
  // State for checkpoints: "m.<name>", "v.<name>" tensors and the step count.
  const std::map<std::string, Tensor>& m() const { return m_; }
  const std::map<std::string, Tensor>& v() const { return v_; }
  void restore(int64_t steps, std::map<std::string, Tensor> m, std::map<std::string, Tensor> v);

 private:
  OptimizerConfig config_;
  int64_t step_ = 0;
  std::map<std::string, Tensor> m_, v_;
};

// Global L2 norm of every gradient (double accumulation, fixed order: deterministic).
double global_grad_norm(const ParameterStore& grads, const std::set<std::string>& skip = {});
// torch.nn.utils.clip_grad_norm_: if norm > max_norm, scales every gradient by max_norm / (norm + 1e-6).
// Returns the norm before clipping.
double clip_grad_norm(ParameterStore& grads, double max_norm, const std::set<std::string>& skip = {});

}  // namespace bb::train
