#include "engine/train/summarization_eval.h"

#include <algorithm>

#include "engine/generate/generate.h"
#include "engine/generate/pegasus_source.h"
#include "engine/models/pegasus_model.h"
#include "engine/train/metrics.h"
#include "engine/train/pegasus_train_step.h"

namespace bb::train {

namespace {

// A PegasusModel reading the current weights in place (the generation code reads PegasusModel); it
// must not outlive `m` nor an update of its parameters.
PegasusModel snapshot(const TrainablePegasus& m) {
  ParameterStore p;
  for (const std::string& name : m.params().names()) {
    const Tensor& t = m.params().get(name);
    p.set(name, Tensor::view(t.shape(), const_cast<float*>(t.data()), nullptr));
  }
  p.set_source(m.params().source());
  return PegasusModel(m.config(), std::move(p));
}

gen::GenerationConfig greedy_config(const ModelConfig& config, int64_t max_target) {
  gen::GenerationConfig g = gen::generation_config_for(config);
  g.num_beams = 1;
  g.max_length = max_target + 1;  // the start token, then up to max_target tokens (EOS included)
  g.min_length = 0;
  g.no_repeat_ngram_size = 0;
  g.forced_eos_token_id = -1;
  return g;
}

}  // namespace

std::map<std::string, double> evaluate_summarization(TrainablePegasus& model, const std::vector<SummaryExample>& eval,
                                                     const tok::Tokenizer& tokenizer, const TrainerConfig& c) {
  std::map<std::string, double> out;
  if (eval.empty()) return out;
  const int64_t pad = std::max<int32_t>(0, tokenizer.special_ids().pad);
  Seq2SeqStepOptions o;
  o.backward = false;
  o.attention_type = c.attention_type;
  o.random_blocks = c.random_blocks;
  double loss_sum = 0.0;
  int64_t count = 0, correct = 0;
  for (size_t first = 0; first < eval.size(); first += size_t(c.batch_size)) {
    std::vector<const SummaryExample*> rows;
    for (size_t i = first; i < std::min(eval.size(), first + size_t(c.batch_size)); ++i) rows.push_back(&eval[i]);
    const Seq2SeqStepResult r = pegasus_forward_backward(model, collate_summaries(rows, pad), o);
    loss_sum += r.loss * double(r.count);
    count += r.count;
    correct += r.correct;
  }
  out["eval_loss"] = count ? loss_sum / double(count) : 0.0;
  out["eval_accuracy"] = count ? double(correct) / double(count) : 0.0;

  const size_t n = c.rouge_examples > 0 ? std::min(eval.size(), size_t(c.rouge_examples)) : eval.size();
  const PegasusModel snap = snapshot(model);
  const gen::GenerationConfig g = greedy_config(model.config(), c.max_target_length);
  PegasusEncodeOptions eo;
  eo.attention_type = c.attention_type;
  eo.random_blocks = c.random_blocks;
  double r1 = 0, r2 = 0, rl = 0, exact = 0;
  for (size_t i = 0; i < n; ++i) {
    const SummaryExample& e = eval[i];
    I64Tensor ids({1, int64_t(e.source.size())});
    for (size_t t = 0; t < e.source.size(); ++t) ids[int64_t(t)] = e.source[t];
    const PegasusEncoding enc = snap.encode(ids, I64Tensor(), eo);
    gen::PegasusSource source(snap, enc);
    const gen::GenerationResult res = gen::generate(source, g);
    const std::vector<int64_t>& tokens = res.outputs[0].tokens;
    std::vector<int32_t> ids32(tokens.begin(), tokens.end());
    const Rouge s = rouge(tokenizer.decode(ids32, true), e.summary);
    r1 += s.rouge1;
    r2 += s.rouge2;
    rl += s.rougeL;
    exact += ids32 == e.target ? 1.0 : 0.0;
  }
  out["eval_rouge1"] = 100.0 * r1 / double(n);
  out["eval_rouge2"] = 100.0 * r2 / double(n);
  out["eval_rougeL"] = 100.0 * rl / double(n);
  out["eval_exact_match"] = 100.0 * exact / double(n);
  return out;
}

}  // namespace bb::train
