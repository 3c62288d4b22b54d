#include "app/cli/pegasus_forward.h"

#include <cstdio>
#include <filesystem>

#include "app/cli/backend_flags.h"
#include "engine/core/error.h"
#include "engine/io/safetensors.h"
#include "engine/models/pegasus_model.h"

namespace bb::cli {

bool is_pegasus_model_dir(const std::string& dir) {
  const std::filesystem::path cfg = std::filesystem::path(dir) / "config.json";
  if (!std::filesystem::is_regular_file(cfg)) return false;  // BigBirdModel::load reports the problem
  return load_config(cfg.string()).family == ModelFamily::BigBirdPegasus;
}

int run_pegasus_forward(const Args& args) {
  for (const char* unsupported : {"head", "attentions", "hidden-states", "attentions-format"})
    if (args.has(unsupported))
      throw Error(std::string("--") + unsupported + " is not available for BigBird-Pegasus models");
  backend::cpu_only(parse_backend_flags(args).kind, "the BigBird-Pegasus model");
  const std::string out_path = args.require("out");
  PegasusModel model = PegasusModel::load(args.require("model"));
  io::SafetensorsFile in = io::SafetensorsFile::open(args.require("inputs"));
  if (!in.contains("input_ids")) throw Error(in.path() + ": no tensor 'input_ids'");
  Seq2SeqInputs inputs;
  inputs.input_ids = in.read_i64("input_ids");
  if (in.contains("attention_mask")) inputs.attention_mask = in.read_i64("attention_mask");
  if (in.contains("decoder_input_ids")) inputs.decoder_input_ids = in.read_i64("decoder_input_ids");
  if (in.contains("decoder_attention_mask")) {
    if (!in.contains("decoder_input_ids")) throw Error(in.path() + ": decoder_attention_mask without decoder_input_ids");
    inputs.decoder_attention_mask = in.read_i64("decoder_attention_mask");
  }
  PegasusEncodeOptions opt;
  if (args.has("attention-type")) opt.attention_type = attn::parse_attention_type(args.require("attention-type"));
  opt.random_blocks = attn::parse_random_blocks(args.get_or("random-blocks", "hf-train"));
  const Seq2SeqOutputs o = model.forward(inputs, opt);

  io::SafetensorsWriter w;
  w.set_metadata("attention_type", attn::to_string(o.encoder.decision.type));
  w.set_metadata("random_blocks", attn::to_string(opt.random_blocks));
  w.add("logits", o.logits);
  w.add("encoder_last_hidden_state", o.encoder.hidden);
  for (size_t l = 0; l < o.encoder.random_tables.size(); ++l) {
    const attn::RandomTable& t = o.encoder.random_tables[l];
    w.add("rand_attn.encoder_layer" + std::to_string(l), I32Tensor::from({t.heads, t.rows, t.r}, t.index));
  }
  w.write(out_path);
  std::fprintf(stderr, "bigbird forward: BigBird-Pegasus, encoder %s%s; wrote %s\n", o.encoder.decision.reason.c_str(),
               inputs.decoder_input_ids.empty() ? " (decoder_input_ids = input_ids shifted right)" : "",
               out_path.c_str());
  return 0;
}

}  // namespace bb::cli
