// bigbird generate: HF generate() on token ids (the scriptable contract used by parity tests):
// input_ids / attention_mask from a safetensors file in, {"sequences", "sequences_scores"} JSON out.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/cli/args.h"
#include "app/cli/backend_flags.h"
#include "app/cli/command.h"
#include "app/cli/generation_flags.h"
#include "engine/core/error.h"
#include "engine/core/thread_pool.h"
#include "engine/generate/generate.h"
#include "engine/generate/pegasus_source.h"
#include "engine/io/atomic_file.h"
#include "engine/io/safetensors.h"
#include "engine/models/pegasus_model.h"

namespace bb::cli {
namespace {

const std::string kUsage = std::string(R"(usage: bigbird generate --model DIR --inputs IN.safetensors --out OUT.json [options]

Runs HF generate() (greedy or beam search, do_sample=False) of a BigBird-Pegasus model (DIR =
config.json + model.safetensors) on the token ids in IN: input_ids I64 [batch, len] and optional
attention_mask. Writes OUT as JSON with HF's conventions:
  {"sequences": [[start, tokens..., eos, pad...], ...], "sequences_scores": [...]}
(sequences_scores only for beam search, as HF; rows padded to a common width). Unset options come
from the model's config.json (token ids, num_beams, max_length, ...) and HF's defaults.

)") + kGenerationFlagsHelp + R"(

other options:
  --random-blocks hf-eval|hf-train|tf  encoder random blocks (default hf-eval = HF >= 4.30 model.eval())
  --cross-attention                    also write "cross_attentions": [row][token][input position]
  --threads N                          worker threads (default: all cores)
)" + kBackendFlagsHelp;

int run_generate(const std::vector<std::string>& argv) {
  std::set<std::string> options = {"model", "inputs", "out", "random-blocks", "threads"};
  options.insert(generation_option_names().begin(), generation_option_names().end());
  options.insert(backend_option_names().begin(), backend_option_names().end());
  Args args(argv, options, {"cross-attention"});
  const backend::Selection selection = parse_backend_flags(args);
  if (!args.positional().empty()) throw Error("unexpected argument '" + args.positional().front() + "' (see --help)");
  if (args.has("threads")) set_num_threads(args.get_int("threads", 0));
  const std::string out_path = args.require("out");
  const std::string inputs_path = args.require("inputs");
  PegasusModel model = PegasusModel::load(args.require("model"));

  gen::GenerationConfig g = gen::generation_config_for(model.config());
  apply_generation_flags(args, g);
  g.capture_cross_attention = args.has("cross-attention");

  io::SafetensorsFile in = io::SafetensorsFile::open(inputs_path);
  if (!in.contains("input_ids")) throw Error(in.path() + ": no tensor 'input_ids'");
  const I64Tensor ids = in.read_i64("input_ids");
  const I64Tensor mask = in.contains("attention_mask") ? in.read_i64("attention_mask") : I64Tensor();
  PegasusEncodeOptions eopt;
  eopt.random_blocks = attn::parse_random_blocks(args.get_or("random-blocks", "hf-eval"));
  eopt.backend = selection.kind;
  eopt.device = selection.device;
  const PegasusEncoding enc = model.encode(ids, mask, eopt);
  model.release_encoder_weights();
  gen::PegasusSource source(model, enc, selection);
  const gen::GenerationResult r = gen::generate(source, g);

  nlohmann::json j;
  j["sequences"] = nlohmann::json::array();
  for (const gen::GeneratedOutput& o : r.outputs) j["sequences"].push_back(o.sequence);
  if (r.beam) {
    j["sequences_scores"] = nlohmann::json::array();
    for (const gen::GeneratedOutput& o : r.outputs) j["sequences_scores"].push_back(double(float(o.score)));  // HF: float32
  }
  if (g.capture_cross_attention) {
    j["cross_attentions"] = nlohmann::json::array();
    for (const gen::GeneratedOutput& o : r.outputs) j["cross_attentions"].push_back(o.cross_attention);
  }
  j["num_steps"] = r.steps;
  j["encoder_attention"] = enc.decision.reason;
  j["encoder_backend"] = enc.backend;
  j["decoder_backend"] = source.decoder_backend();
  j["generation_config"] = {{"num_beams", g.num_beams},
                            {"max_length", g.max_length},
                            {"min_length", g.min_length},
                            {"length_penalty", g.length_penalty},
                            {"early_stopping", gen::to_string(g.early_stopping)},
                            {"no_repeat_ngram_size", g.no_repeat_ngram_size},
                            {"forced_eos_token_id", g.forced_eos_token_id < 0 ? nlohmann::json() : nlohmann::json(g.forced_eos_token_id)},
                            {"decoder_start_token_id", g.decoder_start_token_id},
                            {"eos_token_id", g.eos_token_id},
                            {"pad_token_id", g.pad_token_id},
                            {"beam_scoring", gen::to_string(g.beam_scoring)},
                            {"random_blocks", attn::to_string(eopt.random_blocks)}};
  io::write_file_atomic(out_path, j.dump() + "\n");
  std::fprintf(stderr, "bigbird generate: %zu sequence(s), %lld decoder steps; wrote %s\n", r.outputs.size(),
               (long long)r.steps, out_path.c_str());
  return 0;
}

const Registrar reg{{"generate", "Generate token ids with a BigBird-Pegasus model (HF generate() contract)",
                     kUsage, run_generate}};

}  // namespace
}  // namespace bb::cli
