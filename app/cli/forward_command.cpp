// bigbird forward: run a model on token ids from a safetensors file and write its outputs with the
// tensor names of HF's model outputs (the contract used by parity tests and users' scripts).
#include <cstdio>
#include <string>
#include <vector>

#include "app/cli/args.h"
#include "app/cli/backend_flags.h"
#include "app/cli/command.h"
#include "app/cli/pegasus_forward.h"
#include "engine/core/error.h"
#include "engine/core/thread_pool.h"
#include "engine/io/safetensors.h"
#include "engine/models/bigbird_model.h"
#include "engine/models/default_model.h"

namespace bb::cli {
namespace {

const char* kUsage = R"(usage: bigbird forward [--model DIR] --inputs IN.safetensors --out OUT.safetensors [options]

Runs a BigBird encoder (DIR = config.json + model.safetensors, HF parameter names; default: the bundled
resources/default-model, a small teaching model) on the token ids in
IN (input_ids I64 [batch,len]; optional attention_mask, token_type_ids) and writes OUT with:
  last_hidden_state, pooler_output, logits (mlm/cls), start_logits/end_logits (qa),
  derived.token_type_ids (qa), rand_attn.layer<i> (block_sparse), hidden_states.<i> (--hidden-states),
  attentions.layer<i> (--attentions; dense [batch,heads,L,L] for full attention; block-structured
  attentions.layer<i>.{global_probs,probs,key_blocks} for block_sparse unless --attentions-format dense)

options:
  --attention-type original_full|simulated_sparse|block_sparse   (default: the config's)
  --random-blocks tf|hf-train|hf-eval   random-block reference (default hf-train = TF / HF<=4.29 / HF train)
  --head none|mlm|cls|qa                (default none)
  --attentions                          capture attention probabilities of every layer
  --attentions-format blocks|dense      (default blocks; dense builds L x L per head: small inputs only)
  --hidden-states                       also write hidden_states.<i>
  --threads N                           worker threads (default: all cores)
  --backend cpu|vulkan|auto             compute backend (default cpu; vulkan falls back to the CPU with a
                                        one-line reason when the device fails; see `bigbird devices`)
  --device SPEC                         Vulkan device: index or name substring (default: best)

BigBird-Pegasus checkpoints (model_type bigbird_pegasus): IN may also hold decoder_input_ids I64
[batch, dec_len] (default: input_ids shifted right, as HF) and decoder_attention_mask; OUT holds
logits [batch, dec_len, vocab], encoder_last_hidden_state and rand_attn.encoder_layer<i>.)";

I64Tensor read_ids(const io::SafetensorsFile& f, const std::string& name) { return f.read_i64(name); }

// Writes the block-structured capture of one layer as three regular tensors (O(L) memory).
void add_blocked_attention(io::SafetensorsWriter& w, const std::string& base,
                           const std::vector<attn::AttentionMap>& maps, int num_random) {
  const int64_t B = int64_t(maps.size());
  const attn::AttentionMap& m0 = maps.front();
  const int64_t H = m0.heads, nb = m0.num_blocks, b = m0.block, L = m0.key_len, width = 5 + num_random;
  Tensor global({B, H, 2, b, L});
  Tensor probs({B, H, nb - 2, b, width * b});
  I32Tensor keys({B, H, nb - 2, width});
  keys.fill(-1);
  for (int64_t bi = 0; bi < B; ++bi) {
    const attn::AttentionMap& m = maps[size_t(bi)];
    for (int64_t h = 0; h < H; ++h)
      for (int64_t qb = 0; qb < nb; ++qb) {
        const size_t idx = size_t(h * nb + qb);
        const int64_t nk = m.list_offset[idx + 1] - m.list_offset[idx];
        const float* tile = m.tiles.data() + m.tile_offset[idx];
        if (qb == 0 || qb == nb - 1) {
          float* dst = global.data() + (((bi * H + h) * 2 + (qb == 0 ? 0 : 1)) * b) * L;
          std::copy(tile, tile + b * nk * b, dst);
          continue;
        }
        for (int64_t j = 0; j < nk; ++j)
          keys[((bi * H + h) * (nb - 2) + qb - 1) * width + j] = m.key_blocks[size_t(m.list_offset[idx] + j)];
        for (int64_t i = 0; i < b; ++i)
          std::copy(tile + i * nk * b, tile + (i + 1) * nk * b,
                    probs.data() + ((((bi * H + h) * (nb - 2) + qb - 1) * b + i) * width * b));
      }
  }
  w.add(base + ".global_probs", global);
  w.add(base + ".probs", probs);
  w.add(base + ".key_blocks", keys);
}

void add_dense_attention(io::SafetensorsWriter& w, const std::string& name, const std::vector<attn::AttentionMap>& maps,
                         int64_t len) {
  const int64_t B = int64_t(maps.size()), H = maps.front().heads;
  Tensor out({B, H, len, len});
  for (int64_t bi = 0; bi < B; ++bi)
    for (int64_t h = 0; h < H; ++h) {
      const std::vector<float> full = maps[size_t(bi)].dense_head(int(h));
      const int64_t P = maps[size_t(bi)].key_len;
      for (int64_t q = 0; q < len; ++q)
        std::copy_n(full.data() + q * P, len, out.data() + ((bi * H + h) * len + q) * len);
    }
  w.add(name, out);
}

int run_forward(const std::vector<std::string>& argv) {
  Args args(argv,
            {"model", "inputs", "out", "attention-type", "random-blocks", "head", "threads", "attentions-format",
             "backend", "device"},
            {"attentions", "hidden-states"});
  const backend::Selection selection = parse_backend_flags(args);
  if (args.has("threads")) set_num_threads(args.get_int("threads", 0));
  const std::string out_path = args.require("out");
  const std::string model_dir = model_dir_or_default(args.get_or("model", ""), "--model");
  if (is_pegasus_model_dir(model_dir)) return run_pegasus_forward(args);
  BigBirdModel model = BigBirdModel::load(model_dir);

  io::SafetensorsFile in = io::SafetensorsFile::open(args.require("inputs"));
  if (!in.contains("input_ids")) throw Error(in.path() + ": no tensor 'input_ids'");
  EncoderInputs inputs;
  inputs.input_ids = read_ids(in, "input_ids");
  if (in.contains("attention_mask")) inputs.attention_mask = read_ids(in, "attention_mask");
  if (in.contains("token_type_ids")) inputs.token_type_ids = read_ids(in, "token_type_ids");

  EncoderOptions opt;
  if (args.has("attention-type")) opt.attention_type = attn::parse_attention_type(args.require("attention-type"));
  opt.random_blocks = attn::parse_random_blocks(args.get_or("random-blocks", "hf-train"));
  opt.head = parse_head(args.get_or("head", "none"));
  opt.output_hidden_states = args.has("hidden-states");
  opt.capture.enabled = args.has("attentions");
  opt.backend = selection.kind;
  opt.device = selection.device;
  const std::string att_format = args.get_or("attentions-format", "blocks");
  if (att_format != "blocks" && att_format != "dense")
    throw Error("--attentions-format must be blocks or dense, got '" + att_format + "'");

  EncoderOutputs o = model.forward(inputs, opt);

  io::SafetensorsWriter w;
  w.set_metadata("attention_type", attn::to_string(o.decision.type));
  w.set_metadata("random_blocks", attn::to_string(opt.random_blocks));
  w.add("last_hidden_state", o.last_hidden_state);
  if (!o.pooler_output.empty()) w.add("pooler_output", o.pooler_output);
  if (!o.logits.empty()) w.add("logits", o.logits);
  if (!o.start_logits.empty()) {
    w.add("start_logits", o.start_logits);
    w.add("end_logits", o.end_logits);
    w.add("derived.token_type_ids", o.token_type_ids);
  }
  for (size_t i = 0; i < o.hidden_states.size(); ++i) w.add("hidden_states." + std::to_string(i), o.hidden_states[i]);
  for (size_t l = 0; l < o.random_tables.size(); ++l) {
    const attn::RandomTable& t = o.random_tables[l];
    I32Tensor tt = I32Tensor::from({t.heads, t.rows, t.r}, t.index);
    w.add("rand_attn.layer" + std::to_string(l), tt);
  }
  const int64_t L = inputs.input_ids.dim(1);
  for (size_t i = 0; i < o.attentions.size(); ++i) {
    const std::string name = "attentions.layer" + std::to_string(o.captured_layers[i]);
    const auto& maps = o.attentions[i];
    if (maps.front().blocked && att_format == "blocks")
      add_blocked_attention(w, name, maps, model.config().num_random_blocks);
    else
      add_dense_attention(w, name, maps, L);
  }
  w.write(out_path);
  std::fprintf(stderr, "bigbird forward: %s; ran on %s; wrote %s\n", o.decision.reason.c_str(), o.backend.c_str(),
               out_path.c_str());
  return 0;
}

const Registrar reg{{"forward", "Run an encoder on token ids (safetensors in/out, HF output names)", kUsage, run_forward}};

}  // namespace
}  // namespace bb::cli
