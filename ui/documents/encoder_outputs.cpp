#include "ui/documents/encoder_outputs.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "engine/core/error.h"
#include "engine/core/utf8.h"

namespace bb::ui::documents {

namespace {

// Keeps the first `limit` tokens of an encoding, with its closing special token ([SEP]) last.
void cutTo(bb::tok::Encoding& e, int64_t limit) {
  if (int64_t(e.ids.size()) <= limit) return;
  const int32_t last = e.ids.back();
  e.ids.resize(size_t(limit));
  e.ids.back() = last;
  if (!e.offsets.empty()) {
    e.offsets.resize(size_t(limit));
    e.offsets.back() = {0, 0};
  }
  if (!e.token_type_ids.empty()) e.token_type_ids.resize(size_t(limit));
}

bb::EncoderInputs inputsOf(const bb::tok::Encoding& e) {
  bb::EncoderInputs in;
  in.input_ids = bb::I64Tensor({1, int64_t(e.ids.size())});
  for (size_t i = 0; i < e.ids.size(); ++i) in.input_ids[int64_t(i)] = e.ids[i];
  return in;
}

std::vector<float> softmax(const float* x, int64_t n) {
  std::vector<float> p(static_cast<size_t>(n));
  const float m = *std::max_element(x, x + n);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += p[size_t(i)] = std::exp(x[i] - m);
  for (float& v : p) v = float(v / sum);
  return p;
}

}  // namespace

MaskedWord predictMaskedWord(const bb::BigBirdModel& model, const bb::tok::Tokenizer& tokenizer, const std::string& text,
                             int64_t begin, int64_t end, int topK, const bb::backend::Selection& backend) {
  if (!model.has_head(bb::Head::MaskedLM)) throw Error("this checkpoint has no masked-LM head: fill-mask needs one");
  const int32_t maskId = tokenizer.special_ids().mask;
  if (maskId < 0) throw Error("this tokenizer has no mask token");
  const std::u32string cps = decode_utf8(text).cps;
  const int64_t n = int64_t(cps.size());
  begin = std::clamp<int64_t>(begin, 0, n);
  end = std::clamp<int64_t>(end, begin, n);
  if (begin == end) throw Error("no word to mask at this position");
  MaskedWord out;
  out.begin = begin;
  out.end = end;
  out.word = to_utf8(cps.substr(size_t(begin), size_t(end - begin)));
  const std::string mask = tokenizer.id_to_piece(maskId);
  // The widest context around the word that fits the model's window.
  const int64_t limit = model.config().max_position_embeddings;
  for (int64_t radius = std::min<int64_t>(n, limit * 8);; radius = radius * 3 / 4) {
    const int64_t a = std::max<int64_t>(0, begin - radius), b = std::min<int64_t>(n, end + radius);
    const std::string masked = to_utf8(cps.substr(size_t(a), size_t(begin - a))) + mask + to_utf8(cps.substr(size_t(end), size_t(b - end)));
    if (int64_t(tokenizer.encode(masked).ids.size()) > limit && radius > 0) continue;
    bb::EncoderOptions opt;
    opt.backend = backend.kind;
    opt.device = backend.device;
    const bb::FillMaskResult r = bb::fill_mask(model, tokenizer, masked, topK, opt);
    if (r.masks.empty()) throw Error("the model did not see the mask (the word may be inside a special token)");
    out.candidates = r.masks.front().candidates;
    out.contextBegin = a;
    out.contextEnd = b;
    out.backend = r.backend;
    return out;
  }
}

Classification classifyDocument(const bb::BigBirdModel& model, const bb::tok::Tokenizer& tokenizer, const std::string& text,
                                const bb::backend::Selection& backend) {
  if (!model.has_head(bb::Head::SequenceClassification))
    throw Error("this checkpoint has no sequence-classification head (BigBirdForSequenceClassification)");
  bb::tok::Encoding e = tokenizer.encode(text);
  Classification out;
  out.documentTokens = int64_t(e.ids.size());
  cutTo(e, model.config().max_position_embeddings);
  out.tokensRead = int64_t(e.ids.size());
  bb::EncoderOptions opt;
  opt.head = bb::Head::SequenceClassification;
  opt.random_blocks = bb::attn::RandomBlocks::HFEval;  // inference, as HF's model.eval()
  opt.backend = backend.kind;
  opt.device = backend.device;
  const bb::EncoderOutputs r = model.forward(inputsOf(e), opt);
  out.backend = r.backend;
  const int64_t classes = r.logits.dim(1);
  const std::vector<float> p = softmax(r.logits.data(), classes);
  const auto& names = model.config().id2label;
  for (int64_t c = 0; c < classes; ++c) {
    const auto it = names.find(int(c));
    out.labels.push_back({it != names.end() ? it->second : "LABEL_" + std::to_string(c), p[size_t(c)]});
  }
  std::stable_sort(out.labels.begin(), out.labels.end(), [](const LabelScore& a, const LabelScore& b) { return a.probability > b.probability; });
  return out;
}

Answer answerQuestion(const bb::BigBirdModel& model, const bb::tok::Tokenizer& tokenizer, const std::string& question,
                      const std::string& document, int maxAnswerTokens, const bb::backend::Selection& backend) {
  if (!model.has_head(bb::Head::QuestionAnswering))
    throw Error("this checkpoint has no question-answering head (BigBirdForQuestionAnswering)");
  bool blank = true;
  for (char c : question) blank = blank && std::isspace(static_cast<unsigned char>(c));
  if (blank) throw Error("ask a question first");
  bb::tok::Encoding e = tokenizer.encode(question, document);
  Answer out;
  out.documentTokens = int64_t(e.ids.size());
  cutTo(e, model.config().max_position_embeddings);
  out.tokensRead = int64_t(e.ids.size());
  bb::EncoderOptions opt;
  opt.head = bb::Head::QuestionAnswering;
  opt.random_blocks = bb::attn::RandomBlocks::HFEval;
  opt.backend = backend.kind;
  opt.device = backend.device;
  const bb::EncoderOutputs r = model.forward(inputsOf(e), opt);
  out.backend = r.backend;
  const int64_t len = r.start_logits.dim(1);
  const float* start = r.start_logits.data();
  const float* end = r.end_logits.data();
  const std::vector<float> ps = softmax(start, len), pe = softmax(end, len);
  // Document tokens: the pair segment, not the inserted specials.
  auto inDocument = [&](int64_t i) {
    return size_t(i) < e.token_type_ids.size() && e.token_type_ids[size_t(i)] == 1 && e.offsets[size_t(i)].second > e.offsets[size_t(i)].first;
  };
  int64_t bestI = -1, bestJ = -1;
  float best = -INFINITY;
  for (int64_t i = 0; i < len; ++i) {
    if (!inDocument(i)) continue;
    for (int64_t j = i; j < std::min<int64_t>(len, i + maxAnswerTokens); ++j) {
      if (!inDocument(j)) continue;
      if (start[i] + end[j] > best) {
        best = start[i] + end[j];
        bestI = i;
        bestJ = j;
      }
    }
  }
  if (bestI < 0) return out;
  out.begin = e.offsets[size_t(bestI)].first;
  out.end = e.offsets[size_t(bestJ)].second;
  out.score = best;
  out.probability = ps[size_t(bestI)] * pe[size_t(bestJ)];
  const std::u32string cps = decode_utf8(document).cps;
  out.text = to_utf8(cps.substr(size_t(out.begin), size_t(out.end - out.begin)));
  return out;
}

}  // namespace bb::ui::documents
