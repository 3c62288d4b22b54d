#include "engine/models/fill_mask.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "engine/core/error.h"

namespace bb {

FillMaskResult fill_mask(const BigBirdModel& model, const tok::Tokenizer& tokenizer, const std::string& text, int top_k,
                         const EncoderOptions& base_options) {
  if (top_k < 1) throw Error("top-k must be at least 1");
  const tok::SpecialIds sp = tokenizer.special_ids();
  if (sp.mask < 0) throw Error("this tokenizer has no mask token");
  const int64_t V = model.config().vocab_size;
  if (tokenizer.vocab_size() > V)
    throw Error("the tokenizer has " + std::to_string(tokenizer.vocab_size()) + " pieces but the model only " +
                std::to_string(V) + " embeddings: they do not belong together");

  tok::Encoding enc = tokenizer.encode(text);
  const int64_t L = int64_t(enc.ids.size());
  if (L > model.config().max_position_embeddings)
    throw Error("the text is " + std::to_string(L) + " tokens long; this model accepts at most " +
                std::to_string(model.config().max_position_embeddings));
  std::vector<int64_t> positions;
  for (int64_t i = 0; i < L; ++i)
    if (enc.ids[size_t(i)] == sp.mask) positions.push_back(i);
  if (positions.empty())
    throw Error("the text contains no " + tokenizer.id_to_piece(sp.mask) + " token to fill");

  EncoderInputs in;
  in.input_ids = I64Tensor({1, L});
  for (int64_t i = 0; i < L; ++i) in.input_ids[i] = enc.ids[size_t(i)];
  EncoderOptions opt = base_options;
  opt.head = Head::MaskedLM;
  opt.mlm_rows = positions;
  EncoderOutputs out = model.forward(in, opt);

  FillMaskResult res;
  res.num_tokens = L;
  res.decision = out.decision;
  res.backend = out.backend;
  const int k = int(std::min<int64_t>(top_k, V));
  for (size_t m = 0; m < positions.size(); ++m) {
    const float* logits = out.logits.data() + int64_t(m) * V;
    const float mx = *std::max_element(logits, logits + V);
    double sum = 0;
    for (int64_t v = 0; v < V; ++v) sum += std::exp(double(logits[v] - mx));
    std::vector<int32_t> order(static_cast<size_t>(V));
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + k, order.end(),
                      [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
    MaskPrediction p;
    p.position = positions[m];
    p.char_span = enc.offsets[size_t(positions[m])];
    for (int i = 0; i < k; ++i) {
      const int32_t id = order[size_t(i)];
      MaskCandidate c;
      c.id = id;
      c.piece = id < tokenizer.vocab_size() ? tokenizer.id_to_piece(id) : "<id " + std::to_string(id) + ">";
      c.text = id < tokenizer.vocab_size() ? tokenizer.decode({id}, false) : c.piece;
      c.probability = float(std::exp(double(logits[id] - mx)) / sum);
      p.candidates.push_back(std::move(c));
    }
    res.masks.push_back(std::move(p));
  }
  return res;
}

std::optional<std::string> find_tokenizer_file(const std::string& model_dir) {
  namespace fs = std::filesystem;
  for (const char* name : {"spiece.model", "sentencepiece.bpe.model", "vocab.txt"}) {
    const fs::path p = fs::path(model_dir) / name;
    if (fs::exists(p)) return p.string();
  }
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(model_dir, ec))
    if (e.path().extension() == ".model") return e.path().string();
  return std::nullopt;
}

}  // namespace bb
