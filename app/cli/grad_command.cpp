// bigbird grad: the scriptable gradient contract. Computes the HF loss of a head (dropout off) on
// the inputs of a safetensors file and writes `loss` and `grad.<parameter name>` for every parameter.
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "app/cli/args.h"
#include "app/cli/backend_flags.h"
#include "app/cli/command.h"
#include "engine/backend/train_backend.h"
#include "engine/core/error.h"
#include "engine/core/thread_pool.h"
#include "engine/io/safetensors.h"
#include "engine/train/pegasus_train_step.h"
#include "engine/train/train_step.h"
#include "engine/train/trainable_bigbird.h"

namespace bb::cli {
namespace {

const std::string kUsage = R"(usage: bigbird grad --model DIR --inputs IN.safetensors --out OUT.safetensors [options]

Computes the loss HF's BigBirdFor<Head> returns (model.train() with dropout off: random blocks are the
seeded per-layer tables) and the gradient of every parameter, and writes OUT with
  loss                     F32 scalar
  grad.<HF parameter name> F32, one per parameter of DIR (unused ones, e.g. the pooler, are zeros;
                           the tied MLM decoder is the word embedding matrix and has no entry of its own)
IN holds input_ids I64 [batch,len], optional attention_mask / token_type_ids, and the targets:
  mlm  labels I64 [batch,len] (-100 = ignored)      cls  labels I64 [batch]
  qa   start_positions, end_positions I64 [batch]
  seq2seq (BigBird-Pegasus)  labels I64 [batch,tgt] (-100 = ignored), optional decoder_input_ids
       [batch,tgt] (default: labels shifted right, as HF); the loss is HF's LM cross-entropy and every
       parameter of the model has a gradient (model.shared.weight takes the encoder, decoder and tied
       LM-head contributions; final_logits_bias is an HF buffer and has none)
A head missing from DIR is initialised as HF does (N(0, initializer_range), seed --init-seed).

options:
  --head mlm|cls|qa|seq2seq        (default: seq2seq for a bigbird_pegasus config.json, else from its
                                   "architectures", else from IN's tensors)
  --attention-type original_full|simulated_sparse|block_sparse   (default: the config's)
  --random-blocks tf|hf-train|hf-eval   (default hf-train, as HF in train mode)
  --gradient-checkpointing         recompute each layer in backward (same numbers, less memory)
  --init-seed N                    (default 42)
  --threads N
)" + std::string(kBackendFlagsHelp);

Head head_from(const std::string& s) {
  const Head h = parse_head(s);
  if (h == Head::None) throw Error("--head none has no loss; use mlm, cls or qa");
  return h;
}

Head guess_head(const ModelConfig& c, const io::SafetensorsFile& in) {
  for (const std::string& a : c.architectures) {
    if (a == "BigBirdForMaskedLM" || a == "BigBirdForPreTraining") return Head::MaskedLM;
    if (a == "BigBirdForSequenceClassification") return Head::SequenceClassification;
    if (a == "BigBirdForQuestionAnswering") return Head::QuestionAnswering;
  }
  if (in.contains("start_positions")) return Head::QuestionAnswering;
  if (const io::TensorInfo* t = in.find("labels"))
    return t->shape.size() == 1 ? Head::SequenceClassification : Head::MaskedLM;
  throw Error(in.path() + ": cannot tell the head (no labels / start_positions); pass --head");
}

// BigBird-Pegasus: loss and gradients of BigBirdPegasusForConditionalGeneration(labels=...).
int run_seq2seq_grad(const std::string& model_dir, const io::SafetensorsFile& in, const std::string& out_path,
                     const Args& args) {
  if (args.has("gradient-checkpointing")) throw Error("--gradient-checkpointing is not available for seq2seq yet");
  if (!in.contains("labels")) throw Error(in.path() + ": seq2seq needs a tensor 'labels' [batch, tgt]");
  train::TrainablePegasus model = train::TrainablePegasus::load(model_dir);
  train::Seq2SeqTrainBatch batch;
  batch.input_ids = in.read_i64("input_ids");
  if (in.contains("attention_mask")) batch.attention_mask = in.read_i64("attention_mask");
  batch.labels = in.read_i64("labels");
  if (in.contains("decoder_input_ids")) batch.decoder_input_ids = in.read_i64("decoder_input_ids");
  train::Seq2SeqStepOptions opt;
  if (args.has("attention-type")) opt.attention_type = attn::parse_attention_type(args.require("attention-type"));
  opt.random_blocks = attn::parse_random_blocks(args.get_or("random-blocks", "hf-train"));
  model.zero_grads();
  const train::Seq2SeqStepResult r = train::pegasus_forward_backward(model, batch, opt);
  if (r.count == 0) throw Error(in.path() + ": no target to compute a loss on (every label is -100)");

  io::SafetensorsWriter w;
  w.set_metadata("head", "seq2seq");
  w.set_metadata("attention_type", attn::to_string(r.decision.type));
  w.set_metadata("random_blocks", attn::to_string(opt.random_blocks));
  Tensor loss = Tensor::uninitialized({});
  loss[0] = float(r.loss);
  w.add("loss", loss);
  size_t written = 0;
  for (const std::string& name : model.grads().names())
    if (!train::TrainablePegasus::buffers().count(name)) {
      w.add("grad." + name, model.grads().get(name));
      ++written;
    }
  w.write(out_path);
  std::printf("loss %.9g (seq2seq, %s, %lld targets); %zu gradients written to %s\n", r.loss,
              attn::to_string(r.decision.type).c_str(), (long long)r.count, written, out_path.c_str());
  return 0;
}

int run_grad(const std::vector<std::string>& argv) {
  std::set<std::string> options = {"model",         "inputs",    "out",    "head",
                                   "attention-type", "random-blocks", "init-seed", "threads"};
  options.insert(backend_option_names().begin(), backend_option_names().end());
  Args args(argv, options, {"gradient-checkpointing"});
  const backend::Selection selection = parse_backend_flags(args);
  if (args.has("threads")) set_num_threads(args.get_int("threads", 0));
  const std::string model_dir = args.require("model"), out_path = args.require("out");
  io::SafetensorsFile in = io::SafetensorsFile::open(args.require("inputs"));
  if (!in.contains("input_ids")) throw Error(in.path() + ": no tensor 'input_ids'");

  const ModelConfig config = load_config(model_dir + "/config.json");
  const bool pegasus = config.family == ModelFamily::BigBirdPegasus;
  if (args.get_or("head", pegasus ? "seq2seq" : "") == "seq2seq") {
    if (!pegasus) throw Error("--head seq2seq needs a BigBird-Pegasus model; " + model_dir + " is " + config.model_type);
    backend::cpu_only(selection.kind, "BigBird-Pegasus training (forward + backward)");
    return run_seq2seq_grad(model_dir, in, out_path, args);
  }
  if (pegasus) throw Error(model_dir + ": BigBird-Pegasus has only the seq2seq head");
  const Head head = args.has("head") ? head_from(args.require("head")) : guess_head(config, in);
  train::TrainableBigBird model =
      train::TrainableBigBird::load(model_dir, head, uint64_t(args.get_int("init-seed", 42)));

  train::TrainBatch batch;
  batch.input_ids = in.read_i64("input_ids");
  if (in.contains("attention_mask")) batch.attention_mask = in.read_i64("attention_mask");
  if (in.contains("token_type_ids")) batch.token_type_ids = in.read_i64("token_type_ids");
  if (head == Head::QuestionAnswering) {
    if (!in.contains("start_positions") || !in.contains("end_positions"))
      throw Error(in.path() + ": QA needs tensors 'start_positions' and 'end_positions'");
    batch.start_positions = in.read_i64("start_positions");
    batch.end_positions = in.read_i64("end_positions");
  } else {
    if (!in.contains("labels")) throw Error(in.path() + ": no tensor 'labels'");
    batch.labels = in.read_i64("labels");
  }

  train::StepOptions opt;
  if (args.has("attention-type")) opt.attention_type = attn::parse_attention_type(args.require("attention-type"));
  opt.random_blocks = attn::parse_random_blocks(args.get_or("random-blocks", "hf-train"));
  opt.hidden_dropout = opt.attention_dropout = opt.head_dropout = 0.0f;
  opt.gradient_checkpointing = args.has("gradient-checkpointing");
  model.zero_grads();
  std::string used;
  const train::StepResult r = backend::forward_backward(selection, model, batch, opt, &used);
  if (selection.kind != backend::Kind::Cpu) std::fprintf(stderr, "bigbird grad: ran on %s\n", used.c_str());
  if (r.head.count == 0) throw Error(in.path() + ": no target to compute a loss on (every label is ignored)");

  io::SafetensorsWriter w;
  w.set_metadata("head", to_string(head));
  w.set_metadata("attention_type", attn::to_string(r.decision.type));
  w.set_metadata("random_blocks", attn::to_string(opt.random_blocks));
  Tensor loss = Tensor::uninitialized({});
  loss[0] = float(r.head.loss);
  w.add("loss", loss);
  for (const std::string& name : model.grads().names()) w.add("grad." + name, model.grads().get(name));
  w.write(out_path);
  std::printf("loss %.9g (%s, %s, %lld targets); %zu gradients written to %s\n", r.head.loss, to_string(head).c_str(),
              attn::to_string(r.decision.type).c_str(), (long long)r.head.count, model.grads().size(),
              out_path.c_str());
  return 0;
}

const Registrar reg{{"grad", "Loss and every parameter's gradient for a head (HF contract)", kUsage, run_grad}};

}  // namespace
}  // namespace bb::cli
