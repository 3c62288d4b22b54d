#include "engine/generate/generation_config.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>

#include "engine/core/error.h"

namespace bb::gen {

EarlyStopping parse_early_stopping(const std::string& s) {
  if (s == "true" || s == "True" || s == "1") return EarlyStopping::True;
  if (s == "false" || s == "False" || s == "0") return EarlyStopping::False;
  if (s == "never") return EarlyStopping::Never;
  throw Error("early_stopping must be true, false or never, got '" + s + "'");
}

std::string to_string(EarlyStopping e) {
  switch (e) {
    case EarlyStopping::False: return "false";
    case EarlyStopping::True: return "true";
    case EarlyStopping::Never: return "never";
  }
  return "?";
}

BeamScoring parse_beam_scoring(const std::string& s) {
  if (s == "hf") return BeamScoring::HF;
  if (s == "tf") return BeamScoring::TF;
  throw Error("beam scoring must be hf (transformers) or tf (original BigBird beam search), got '" + s + "'");
}

std::string to_string(BeamScoring b) { return b == BeamScoring::HF ? "hf" : "tf"; }

GenerationConfig generation_config_for(const ModelConfig& m) {
  GenerationConfig g;
  g.pad_token_id = m.pad_token_id;
  g.eos_token_id = m.eos_token_id;
  g.decoder_start_token_id = m.decoder_start_token_id;
  using nlohmann::json;
  auto value = [&](const char* key) -> std::optional<json> {
    auto it = m.extra.find(key);
    if (it == m.extra.end()) return std::nullopt;
    json v = json::parse(it->second, nullptr, false);
    if (v.is_discarded() || v.is_null()) return std::nullopt;
    return v;
  };
  auto bad = [](const char* key, const json& v) {
    return Error(std::string("config.json: key \"") + key + "\": unexpected value " + v.dump());
  };
  if (auto v = value("num_beams")) {
    if (!v->is_number_integer()) throw bad("num_beams", *v);
    g.num_beams = v->get<int>();
  }
  if (auto v = value("max_length")) {
    if (!v->is_number_integer()) throw bad("max_length", *v);
    g.max_length = v->get<int64_t>();
  }
  if (auto v = value("min_length")) {
    if (!v->is_number_integer()) throw bad("min_length", *v);
    g.min_length = v->get<int64_t>();
  }
  if (auto v = value("length_penalty")) {
    if (!v->is_number()) throw bad("length_penalty", *v);
    g.length_penalty = v->get<double>();
  }
  if (auto v = value("no_repeat_ngram_size")) {
    if (!v->is_number_integer()) throw bad("no_repeat_ngram_size", *v);
    g.no_repeat_ngram_size = v->get<int>();
  }
  if (auto v = value("forced_eos_token_id")) {
    if (!v->is_number_integer()) throw bad("forced_eos_token_id", *v);
    g.forced_eos_token_id = v->get<int64_t>();
  }
  if (auto v = value("early_stopping")) {
    if (v->is_boolean()) g.early_stopping = v->get<bool>() ? EarlyStopping::True : EarlyStopping::False;
    else if (v->is_string()) g.early_stopping = parse_early_stopping(v->get<std::string>());
    else throw bad("early_stopping", *v);
  }
  return g;
}

void validate(const GenerationConfig& g, int64_t vocab) {
  if (g.num_beams < 1) throw Error("num_beams must be at least 1, got " + std::to_string(g.num_beams));
  if (g.max_length < 2)
    throw Error("max_length must be at least 2 (it counts the decoder start token), got " + std::to_string(g.max_length));
  if (g.min_length < 0) throw Error("min_length must not be negative");
  if (g.no_repeat_ngram_size < 0) throw Error("no_repeat_ngram_size must not be negative");
  if (!std::isfinite(g.length_penalty)) throw Error("length_penalty must be a finite number");
  if (vocab < 2) throw Error("generation needs a vocabulary of at least 2 tokens");
  const std::pair<const char*, int64_t> ids[] = {{"eos_token_id", g.eos_token_id},
                                                 {"pad_token_id", g.pad_token_id},
                                                 {"decoder_start_token_id", g.decoder_start_token_id}};
  for (const auto& [key, id] : ids)
    if (id < 0 || id >= vocab)
      throw Error(std::string(key) + " " + std::to_string(id) + " is not a token of the model (vocabulary 0.." +
                  std::to_string(vocab - 1) + ")");
  if (g.forced_eos_token_id >= vocab) throw Error("forced_eos_token_id is outside the vocabulary");
  if (g.beam_scoring == BeamScoring::TF) {
    if (g.no_repeat_ngram_size > 0 || g.min_length > 0 || g.forced_eos_token_id >= 0)
      throw Error("the original TF beam search has no min_length, no_repeat_ngram_size or forced EOS (use hf scoring)");
    if (g.length_penalty < 0) throw Error("the TF length penalty alpha must be >= 0");
  }
}

}  // namespace bb::gen
