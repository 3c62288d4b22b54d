#include "app/cli/generation_flags.h"

#include "engine/core/error.h"

namespace bb::cli {

const std::set<std::string>& generation_option_names() {
  static const std::set<std::string> names = {"num-beams",  "beams",          "length-penalty", "early-stopping",
                                              "min-length", "max-length",     "no-repeat-ngram-size",
                                              "forced-eos-token-id", "decoder-start-token-id", "do-sample",
                                              "beam-scoring"};
  return names;
}

const char* kGenerationFlagsHelp = R"(generation (HF generate() meanings; lengths count the decoder start token):
  --num-beams N (--beams N)            1 = greedy search
  --max-length N  --min-length N       decoder length limits
  --length-penalty A                   hf: score = sum log p / generated_len^A; tf: GNMT ((5+len)/6)^A
  --early-stopping true|false|never    beam stopping rule (HF)
  --no-repeat-ngram-size K             ban repeated K-grams (start token included)
  --forced-eos-token-id ID             force EOS at the last position
  --decoder-start-token-id ID          default: the model config's
  --beam-scoring hf|tf                 hf = transformers beam search; tf = original BigBird TF beam search
  --do-sample false                    sampling is not supported)";

namespace {

int64_t non_negative(const Args& args, const std::string& name, int64_t current) {
  const int v = args.get_int(name, int(current));
  if (v < 0) throw Error("--" + name + " must not be negative, got " + std::to_string(v));
  return v;
}

}  // namespace

void apply_generation_flags(const Args& args, gen::GenerationConfig& g) {
  if (args.has("num-beams") && args.has("beams")) throw Error("give --num-beams or --beams, not both");
  for (const char* name : {"num-beams", "beams"})
    if (args.has(name)) g.num_beams = args.get_int(name, g.num_beams);
  if (args.has("max-length")) g.max_length = args.get_int("max-length", int(g.max_length));
  g.min_length = non_negative(args, "min-length", g.min_length);
  g.length_penalty = args.get_double("length-penalty", g.length_penalty);
  if (auto es = args.get("early-stopping")) g.early_stopping = gen::parse_early_stopping(*es);
  g.no_repeat_ngram_size = int(non_negative(args, "no-repeat-ngram-size", g.no_repeat_ngram_size));
  if (args.has("forced-eos-token-id")) g.forced_eos_token_id = non_negative(args, "forced-eos-token-id", 0);
  if (args.has("decoder-start-token-id")) g.decoder_start_token_id = non_negative(args, "decoder-start-token-id", 0);
  if (auto bs = args.get("beam-scoring")) g.beam_scoring = gen::parse_beam_scoring(*bs);
  if (auto s = args.get("do-sample")) {
    if (*s == "true" || *s == "True" || *s == "1") throw Error("--do-sample true: sampling is not supported (greedy and beam search only)");
    if (*s != "false" && *s != "False" && *s != "0") throw Error("--do-sample must be true or false, got '" + *s + "'");
  }
}

}  // namespace bb::cli
