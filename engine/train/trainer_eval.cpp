#include "engine/train/trainer_eval.h"

#include <algorithm>
#include <limits>

#include "engine/train/dropout.h"
#include "engine/train/metrics.h"
#include "engine/train/train_step.h"

namespace bb::train {

namespace {

StepOptions eval_options(const TrainerConfig& c) {
  StepOptions o;
  o.train = false;
  o.attention_type = c.attention_type;
  o.random_blocks = c.random_blocks;
  return o;
}

// Best answer span of one QA window: (score, start, end) over context tokens.
struct Span {
  double score = -std::numeric_limits<double>::infinity();
  int64_t start = -1, end = -1;
};

Span best_span(const Example& e, const float* s, const float* en, int64_t max_len) {
  Span best;
  const int64_t n = int64_t(e.ids.size());
  for (int64_t i = 0; i < n; ++i) {
    if (e.offsets[size_t(i)].first < 0) continue;
    for (int64_t j = i; j < n && j < i + max_len; ++j) {
      if (e.offsets[size_t(j)].first < 0) break;
      const double score = double(s[i]) + double(en[j]);
      if (score > best.score) best = {score, i, j};
    }
  }
  return best;
}

}  // namespace

std::map<std::string, double> evaluate(TrainableBigBird& model, const TaskData& data, const TrainerConfig& c) {
  std::map<std::string, double> out;
  if (data.eval.empty()) return out;
  const StepOptions o = eval_options(c);
  double loss_sum = 0.0;
  int64_t loss_count = 0, correct = 0, tokens = 0;
  std::vector<int64_t> predicted, gold;
  std::vector<double> null_score(data.eval_questions.size(), -std::numeric_limits<double>::infinity());
  std::vector<std::pair<int64_t, Span>> best_window(data.eval_questions.size(), {-1, Span{}});

  for (size_t first = 0; first < data.eval.size(); first += size_t(c.batch_size)) {
    std::vector<const Example*> rows;
    for (size_t i = first; i < std::min(data.eval.size(), first + size_t(c.batch_size)); ++i)
      rows.push_back(&data.eval[i]);
    TrainBatch batch = collate(rows, c.task, data.pad_id);
    if (c.task == Task::MaskedLM) apply_masking(batch, rows, data.masking, dropout_key(c.seed, 0xE7A1, first));
    const StepResult r = forward_backward(model, batch, o);
    const HeadResult& h = r.head;
    if (c.task == Task::MaskedLM) {  // token-weighted
      loss_sum += h.loss * double(h.count);
      loss_count += h.count;
      correct += h.correct;
      tokens += h.count;
    } else {
      loss_sum += h.loss * double(rows.size());
      loss_count += int64_t(rows.size());
    }
    if (c.task == Task::Classification) {
      const int64_t C = h.logits.dim(1);
      for (size_t b = 0; b < rows.size(); ++b) {
        const float* lg = h.logits.data() + int64_t(b) * C;
        predicted.push_back(std::max_element(lg, lg + C) - lg);
        gold.push_back(rows[b]->label);
      }
    } else if (c.task == Task::QuestionAnswering) {
      const int64_t L = h.start_logits.dim(1);
      for (size_t b = 0; b < rows.size(); ++b) {
        const Example& e = *rows[b];
        const float* s = h.start_logits.data() + int64_t(b) * L;
        const float* en = h.end_logits.data() + int64_t(b) * L;
        const size_t q = size_t(e.question);
        null_score[q] = std::max(null_score[q], double(s[0]) + double(en[0]));
        const Span sp = best_span(e, s, en, c.max_answer_length);
        if (sp.score > best_window[q].second.score) best_window[q] = {int64_t(first + b), sp};
      }
    }
  }
  out["eval_loss"] = loss_count ? loss_sum / double(loss_count) : 0.0;
  if (c.task == Task::Classification) {
    const ClassificationMetrics m = classification_metrics(predicted, gold, int(data.labels.size()));
    out["eval_accuracy"] = m.accuracy;
    out["eval_macro_f1"] = m.macro_f1;
    if (data.labels.size() == 2) out["eval_f1"] = m.positive_f1;
  } else if (c.task == Task::QuestionAnswering) {
    double em = 0.0, f1 = 0.0;
    for (size_t q = 0; q < data.eval_questions.size(); ++q) {
      std::string prediction;
      const auto& [window, sp] = best_window[q];
      if (window >= 0 && sp.score >= null_score[q]) {
        const Example& e = data.eval[size_t(window)];
        prediction = codepoint_substr(data.eval_questions[q].context, e.offsets[size_t(sp.start)].first,
                                      e.offsets[size_t(sp.end)].second);
      }
      em += exact_match(prediction, data.eval_questions[q].answers);
      f1 += token_f1(prediction, data.eval_questions[q].answers);
    }
    const double n = double(std::max<size_t>(1, data.eval_questions.size()));
    out["eval_exact_match"] = 100.0 * em / n;
    out["eval_f1"] = 100.0 * f1 / n;
  } else if (c.task == Task::MaskedLM) {
    out["eval_accuracy"] = tokens ? double(correct) / double(tokens) : 0.0;
  }
  return out;
}

}  // namespace bb::train
