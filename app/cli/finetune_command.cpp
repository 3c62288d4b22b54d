// bigbird finetune: fine-tune a BigBird model on a task (classification, QA, MLM) with a progress
// bar, a metrics log (<out>/metrics.jsonl, <out>/metrics.csv), checkpoints and an HF export.
// The run goes through the job API (engine/jobs), as the GUI drives it.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/cli/args.h"
#include "app/cli/backend_flags.h"
#include "app/cli/command.h"
#include "engine/backend/train_backend.h"
#include "engine/core/error.h"
#include "engine/core/thread_pool.h"
#include "engine/jobs/training_job.h"

namespace bb::cli {
namespace {

const std::string kUsage = R"(usage: bigbird finetune --task cls|qa|mlm|summarize (--model DIR | --init random --config FILE) --train FILE --out DIR [options]
       bigbird finetune --task ... (--model DIR | --init random --config FILE) --eval-only --eval FILE [options]

Fine-tunes the BigBird model in DIR (config.json + model.safetensors, HF names; a head the checkpoint lacks
is initialised as HF does) and writes to --out:
  metrics.jsonl, metrics.csv        one record per step (loss, lr, grad norm, tokens/s) and evaluation
  checkpoints/step-N/, latest       every --save-every steps and at the end (atomic; --resume continues)
  model/                            the final model in HF layout (config.json, model.safetensors, tokenizer)

  --init random --config FILE       pre-train from scratch: HF-style random weights (seeded by --seed) for the
                                    BigBird config in FILE; --model is then not needed
  --eval-only --eval FILE           print the model's evaluation metrics (eval_loss, eval_accuracy, ...) as one
                                    JSON line on stdout and stop; no --train / --out (with --init random: the
                                    untrained baseline)

data:
  cls        CSV / TSV / JSONL with a text and a label column (--text-column, --label-column)
  qa         SQuAD-style JSON (v1.1 / v2.0: "is_impossible" questions answer at [CLS])
  mlm        raw text (one or more paragraphs per line)
  summarize  JSONL (document, summary; other names with --text-column / --label-column) with a BigBird-Pegasus
             --model and its spiece.model: evaluation reports eval_loss, eval_accuracy (tokens) and ROUGE-1/2/L
             (x100) and eval_exact_match of greedy summaries of the first --rouge-examples evaluation documents
  --eval FILE, or a seeded --eval-split share of --train is held out

options:
  --tokenizer PATH           spiece.model / vocab.txt (default: next to the model, else the bundled gpt2.model)
  --format auto|csv|tsv|jsonl   --text-column text   --label-column label   --labels a,b,c
  --max-length N (512)       --max-target-length N (128, summarize)   --rouge-examples N (8, 0 = all)
  --batch-size N (8)   --grad-accum N (1)
  --steps N                  optimizer steps (default: --epochs over the training set)   --epochs X (3)
  --lr X (5e-5)              --schedule linear|polynomial|constant|constant-warmup|tf-linear (linear)
  --warmup N (0)             --power X (1, polynomial)
  --optimizer adamw|adam-weight-decay (adamw)   --weight-decay X (0.01)   --eps X (1e-8 / 1e-6)
  --beta1 X (0.9)  --beta2 X (0.999)           --max-grad-norm X (1.0; 0 = no clipping)
  --gradient-checkpointing   recompute each layer in backward (less memory, about 1/3 more compute)
  --attention-type block_sparse|original_full   --random-blocks hf-train|hf-eval|tf (hf-train)
  --dropout X                hidden/attention/head dropout (default: the config's)
  --eval-every N (0 = end only)   --save-every N (0 = end only)   --keep-checkpoints N (2)
  --eval-split X (0.1)       --max-eval N
  --mask-prob X (0.15)       --whole-word   (mlm)
  --doc-stride N (3072)      --max-answer-length N (30)   (qa)
  --seed N (42)              --resume   --threads N   --quiet
  --stop-after N             stop after step N as if interrupted (testing resume)
)" + std::string(kBackendFlagsHelp);

std::atomic<bool> g_interrupted{false};
void on_sigint(int) { g_interrupted = true; }

std::string clock_text(double s) {
  if (!(s >= 0) || s > 1e7) return "--:--";
  const int64_t t = int64_t(s + 0.5);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", (long long)(t / 3600), (long long)(t / 60 % 60),
                  (long long)(t % 60));
  else
    std::snprintf(buf, sizeof buf, "%02lld:%02lld", (long long)(t / 60), (long long)(t % 60));
  return buf;
}

void print_event(const train::TrainingEvent& e, bool tty, bool quiet) {
  using K = train::TrainingEvent::Kind;
  if (e.kind == K::Step) {
    static bool said = false;  // once; a fallback has its own notice
    if (!said && e.message.rfind("vulkan", 0) == 0) {
      said = true;
      std::fprintf(stderr, "training steps run on %s\n", e.message.c_str());
    }
    if (quiet) return;
    const int width = 24;
    const int fill = e.total_steps > 0 ? int(double(width) * double(e.step) / double(e.total_steps)) : 0;
    std::string bar(size_t(fill), '#');
    bar.resize(size_t(width), '-');
    std::fprintf(stderr, "%s[%s] step %lld/%lld  loss %.4f  lr %.3g  |g| %.3g  %.0f tok/s  %.0f MB  ETA %s%s",
                 tty ? "\r" : "", bar.c_str(), (long long)e.step, (long long)e.total_steps, e.loss, e.lr, e.grad_norm,
                 e.tokens_per_s, double(e.rss_bytes) / 1048576.0, clock_text(e.eta_s).c_str(), tty ? "  " : "\n");
    std::fflush(stderr);
    return;
  }
  if (e.kind == K::Failed) return;  // the error itself is thrown and printed once, as one line, by main
  if (tty && !quiet) std::fprintf(stderr, "\n");
  std::string line = to_string(e.kind);
  if (e.kind == K::Eval) {
    line += " at step " + std::to_string(e.step) + ":";
    for (const auto& [k, v] : e.metrics) {
      char buf[64];
      std::snprintf(buf, sizeof buf, " %s %.4f", k.c_str(), v);
      line += buf;
    }
  } else if (!e.message.empty()) {
    line += ": " + e.message;
  }
  std::fprintf(stderr, "%s\n", line.c_str());
}

int run_finetune(const std::vector<std::string>& argv) {
  Args args(argv,
            {"task",
             "model",
             "train",
             "eval",
             "out",
             "tokenizer",
             "format",
             "text-column",
             "label-column",
             "labels",
             "max-length",
             "max-target-length",
             "rouge-examples",
             "batch-size",
             "grad-accum",
             "steps",
             "epochs",
             "lr",
             "schedule",
             "warmup",
             "power",
             "optimizer",
             "weight-decay",
             "eps",
             "beta1",
             "beta2",
             "max-grad-norm",
             "attention-type",
             "random-blocks",
             "dropout",
             "eval-every",
             "save-every",
             "keep-checkpoints",
             "eval-split",
             "max-eval",
             "mask-prob",
             "doc-stride",
             "max-answer-length",
             "seed",
             "threads",
             "stop-after",
             "init",
             "config",
             "backend",
             "device"},
            {"gradient-checkpointing", "whole-word", "resume", "quiet", "eval-only"});
  const backend::Selection selection = parse_backend_flags(args);
  if (args.has("threads")) set_num_threads(args.get_int("threads", 0));
  train::TrainerConfig c;
  c.task = train::parse_task(args.require("task"));
  const std::string init = args.get_or("init", "checkpoint");
  if (init != "checkpoint" && init != "random") throw Error("--init must be checkpoint or random, not '" + init + "'");
  c.init_random = init == "random";
  if (args.has("config") && !c.init_random) throw Error("--config needs --init random (a checkpoint brings its own)");
  if (c.init_random && !args.has("config") && !args.has("model"))
    throw Error("--init random needs --config FILE (or a --model DIR holding config.json)");
  c.config_file = args.get_or("config", "");
  c.model_dir = c.init_random ? args.get_or("model", "") : args.require("model");
  c.eval_only = args.has("eval-only");
  if (c.eval_only && !args.has("eval")) throw Error("--eval-only needs --eval FILE");
  c.train_file = c.eval_only ? args.get_or("train", "") : args.require("train");
  c.out_dir = c.eval_only ? args.get_or("out", "") : args.require("out");
  c.eval_file = args.get_or("eval", "");
  c.tokenizer = args.get_or("tokenizer", "");
  c.format = train::parse_table_format(args.get_or("format", "auto"));
  c.text_column = args.get_or("text-column", "text");
  c.label_column = args.get_or("label-column", "label");
  if (args.has("labels")) c.labels = args.get_list("labels", {});
  c.max_length = args.get_int("max-length", 512);
  c.max_target_length = args.get_int("max-target-length", 128);
  c.rouge_examples = args.get_int("rouge-examples", 8);
  c.batch_size = args.get_int("batch-size", 8);
  c.grad_accum = args.get_int("grad-accum", 1);
  c.max_steps = args.get_int("steps", 0);
  c.epochs = args.get_double("epochs", 3.0);
  c.schedule.lr = args.get_double("lr", 5e-5);
  c.schedule.kind = train::parse_schedule(args.get_or("schedule", "linear"));
  c.schedule.warmup_steps = args.get_int("warmup", 0);
  c.schedule.power = args.get_double("power", 1.0);
  c.optimizer.kind = train::parse_optimizer(args.get_or("optimizer", "adamw"));
  c.optimizer.weight_decay = args.get_double("weight-decay", 0.01);
  c.optimizer.eps = args.get_double("eps", -1.0);
  c.optimizer.beta1 = args.get_double("beta1", 0.9);
  c.optimizer.beta2 = args.get_double("beta2", 0.999);
  c.max_grad_norm = args.get_double("max-grad-norm", 1.0);
  c.gradient_checkpointing = args.has("gradient-checkpointing");
  if (args.has("attention-type")) c.attention_type = attn::parse_attention_type(args.require("attention-type"));
  c.random_blocks = attn::parse_random_blocks(args.get_or("random-blocks", "hf-train"));
  if (args.has("dropout"))
    c.hidden_dropout = c.attention_dropout = c.head_dropout = float(args.get_double("dropout", 0.1));
  c.eval_every = args.get_int("eval-every", 0);
  c.save_every = args.get_int("save-every", 0);
  c.keep_checkpoints = args.get_int("keep-checkpoints", 2);
  c.eval_split = args.get_double("eval-split", 0.1);
  c.max_eval_examples = args.get_int("max-eval", 0);
  c.mask_probability = args.get_double("mask-prob", 0.15);
  c.whole_word_masking = args.has("whole-word");
  c.doc_stride = args.get_int("doc-stride", 3072);
  c.max_answer_length = args.get_int("max-answer-length", 30);
  c.seed = uint64_t(args.get_int("seed", 42));
  c.resume = args.has("resume");
  c.stop_after_step = args.get_int("stop-after", 0);
  if (c.task == train::Task::Summarization)
    backend::cpu_only(selection.kind, "BigBird-Pegasus training (forward + backward)");
  else if (c.eval_only)
    backend::cpu_only(selection.kind, "evaluation-only fine-tuning runs");
  else if (selection.kind != backend::Kind::Cpu)  // training steps on the GPU; evaluation on the CPU
    c.make_step_runner = [selection] { return backend::make_train_step_runner(selection); };
  const bool quiet = args.has("quiet");
  const bool tty = isatty(STDERR_FILENO) != 0;

  std::signal(SIGINT, on_sigint);
  std::unique_ptr<jobs::TrainingJob> job = jobs::TrainingJob::start(c);
  bool cancel_sent = false;
  while (!job->wait(std::chrono::milliseconds(100))) {
    for (const train::TrainingEvent& e : job->poll()) print_event(e, tty, quiet);
    if (g_interrupted && !cancel_sent) {
      std::fprintf(stderr, "\ninterrupted: stopping after the current step (the last checkpoint stays)\n");
      job->cancel();
      cancel_sent = true;
    }
  }
  for (const train::TrainingEvent& e : job->poll()) print_event(e, tty, quiet);
  std::signal(SIGINT, SIG_DFL);
  if (job->state() == jobs::JobState::Failed) throw Error(job->error());
  const train::TrainingSummary s = job->summary();
  if (c.eval_only) {
    nlohmann::json j(s.final_metrics);
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  std::printf("%s after %lld steps%s%s\n", s.cancelled ? "stopped" : "finished", (long long)s.steps,
              s.losses.empty() ? "" : (", last loss " + std::to_string(s.losses.back())).c_str(),
              s.export_dir.empty() ? "" : ("; model in " + s.export_dir).c_str());
  return s.cancelled && g_interrupted ? 130 : 0;
}

const Registrar reg{
    {"finetune", "Fine-tune BigBird (cls, qa, mlm) or BigBird-Pegasus (summarize) with checkpoints and an HF export", kUsage, run_finetune}};

}  // namespace
}  // namespace bb::cli
