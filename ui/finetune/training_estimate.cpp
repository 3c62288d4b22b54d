#include "ui/finetune/training_estimate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <thread>

#include "engine/io/parameter_manifest.h"
#include "engine/models/cost_model.h"
#include "ui/text_utils.h"

namespace bb::ui {

std::string formatRunTime(double s) {
  char buf[48];
  if (s < 90)
    std::snprintf(buf, sizeof buf, "%.0f s", s);
  else if (s < 5400)
    std::snprintf(buf, sizeof buf, "%.0f min", s / 60);
  else if (s < 172800)
    std::snprintf(buf, sizeof buf, "%.1f h", s / 3600);
  else
    std::snprintf(buf, sizeof buf, "%.1f days", s / 86400);
  return buf;
}

TrainingEstimate estimateTraining(const ModelConfig& m, const train::TrainerConfig& c, int64_t trainExamples,
                                  double meanTokens, int threads) {
  TrainingEstimate e;
  const int64_t batch = std::max<int64_t>(1, c.batch_size), accum = std::max<int64_t>(1, c.grad_accum);
  const int64_t batches_per_epoch = (std::max<int64_t>(1, trainExamples) + batch - 1) / batch;
  e.steps = c.max_steps > 0 ? c.max_steps
                            : std::max<int64_t>(1, int64_t(std::ceil(c.epochs * double(batches_per_epoch) / double(accum))));

  // Batches are padded to their longest example, then to a block multiple.
  const int64_t b = std::max(1, m.block_size);
  const int64_t longest = std::min<int64_t>(c.max_length, std::max<int64_t>(1, int64_t(std::ceil(meanTokens * 1.25))));
  e.tokensPerExample = (longest + b - 1) / b * b;
  const int64_t L = e.tokensPerExample;
  const attn::AttentionType type = c.attention_type.value_or(m.attention_type);
  const bool sparse = type == attn::AttentionType::BlockSparse && L > (5 + 2 * int64_t(m.num_random_blocks)) * b;
  const ForwardCost f = encoder_forward_cost(m, L, sparse);
  const double head_flops = c.task == train::Task::MaskedLM ? 2.0 * double(L) * double(m.hidden_size) * double(m.vocab_size) : 0;
  // Backward costs about twice the forward; checkpointing recomputes the forward once more.
  const double passes = c.gradient_checkpointing ? 4.0 : 3.0;
  e.flopsPerStep = passes * (f.total_flops() + head_flops) * double(batch * accum);
  const int t = threads > 0 ? threads : int(std::max(1u, std::thread::hardware_concurrency()));
  e.seconds = e.flopsPerStep * double(e.steps) / (kAssumedGflopsPerThread * 1e9 * t);

  for (const io::ExpectedTensor& x : io::expected_parameters(m).tensors)
    if (x.tied_to.empty()) e.parameters += shape_numel(x.shape);
  // Weights, gradients and two AdamW moments in fp32.
  const double state = 16.0 * double(e.parameters);
  // Saved activations per token and layer (q, k, v, context, two LayerNorm inputs and outputs,
  // dropout masks ~ 12·H, the FFN input and GELU input 2·I), fp32, plus the attention tiles.
  const double H = double(m.hidden_size), I = double(m.intermediate_size);
  const double per_layer = double(batch) * double(L) * (12 * H + 2 * I) * 4.0 +
                           double(batch) * m.num_attention_heads * double(f.scores_per_head) * 4.0;
  const double layers_kept = c.gradient_checkpointing ? 1.0 + double(batch) * double(L) * H * 4.0 * m.num_hidden_layers / per_layer
                                                       : double(m.num_hidden_layers);
  const double logits = c.task == train::Task::MaskedLM ? 2.0 * double(batch) * double(L) * double(m.vocab_size) * 4.0 : 0;
  e.peakBytes = state + per_layer * layers_kept + logits;

  e.text = std::to_string(e.steps) + " steps · about " + formatRunTime(e.seconds) + " on " + std::to_string(t) +
           " threads (assuming " + std::to_string(int(kAssumedGflopsPerThread)) + " GFLOP/s per thread) · peak memory about " +
           formatBytes(e.peakBytes) + " · " + std::to_string(L) + "-token batches, " +
           (sparse ? "block_sparse" : "full") + " attention";
  return e;
}

}  // namespace bb::ui
