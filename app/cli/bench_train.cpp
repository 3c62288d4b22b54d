// bigbird bench --train: seconds per training step (BigBirdForMaskedLM: forward, MLM loss on 15 %
// masked positions, backward, AdamW) and peak RSS, with and without gradient checkpointing, each
// configuration in a fresh process (`bench-train-worker`), next to the PyTorch reference's training
// step (scripts/bench/torch_bigbird_bench.py --train) on the same weights in the same run.
#include "app/cli/bench_profile.h"
#include "app/cli/bench_train.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "app/cli/args.h"
#include "app/cli/backend_flags.h"
#include "app/cli/command.h"
#include "app/cli/subprocess.h"
#include "engine/backend/train_backend.h"
#include "engine/core/error.h"
#include "engine/core/profiler.h"
#include "engine/core/thread_pool.h"
#include "engine/io/atomic_file.h"
#include "engine/io/safetensors.h"
#include "engine/models/random_weights.h"
#include "engine/train/optimizer.h"
#include "engine/train/train_step.h"
#include "engine/train/trainable_bigbird.h"

namespace bb::cli {

const char* kBenchTrainUsage =
    R"(usage: bigbird bench --train [--shape base|large|tiny] [--length 1024,4096] [--batch 1]
                    [--checkpointing both|off|on] [--repeat 3] [--warmup 1] [--threads N]
                    [--reference torch|none] [--json FILE] [--keep-weights DIR] [--model DIR] [--profile]

Benchmarks one training step of BigBirdForMaskedLM (block_sparse, HF train-mode random blocks, the config's
dropout, 15 % of the positions masked, forward + loss + backward + AdamW) on random weights: median seconds
per step and peak RSS of a fresh process per configuration, with gradient checkpointing off and on, and the
PyTorch reference's training step on the same weights (scripts/bench/torch_bigbird_bench.py --train, OpenBLAS).
"cpu s" is the process CPU time per step (all threads), steadier than wall time on a shared machine. A reference
that fails (e.g. out of memory at 4096) is reported and the engine is still measured.)";

namespace {

namespace fs = std::filesystem;

double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double cpu_s() {  // process CPU time (all threads): less sensitive than wall time to a busy machine
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + 1e-6 * double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

nlohmann::json last_json_line(const ProcessResult& r, const std::string& what) {
  if (r.exit_code != 0)
    throw Error(what + " failed (exit " + std::to_string(r.exit_code) + "): " + r.err.substr(0, 2000));
  const size_t end = r.out.find_last_not_of("\n ");
  if (end == std::string::npos) throw Error(what + " printed nothing");
  size_t start = r.out.rfind('\n', end);
  start = start == std::string::npos ? 0 : start + 1;
  return nlohmann::json::parse(r.out.substr(start, end - start + 1));
}

std::optional<std::string> torch_script() {
  if (const char* env = std::getenv("BIGBIRD_TORCH_REFERENCE")) return std::string(env);
  const std::string path = std::string(BIGBIRD_SOURCE_DIR) + "/scripts/bench/torch_bigbird_bench.py";
  if (fs::exists(path)) return path;
  return std::nullopt;
}

// The torch script's masking: 15 % of the positions (at least one), id 67 there, labels there.
void mask_like_reference(train::TrainBatch& b, int64_t vocab) {
  const int64_t B = b.input_ids.dim(0), L = b.input_ids.dim(1);
  b.labels = I64Tensor({B, L});
  b.labels.fill(-100);
  const int64_t n = std::max<int64_t>(1, int64_t(0.15 * double(L) + 0.5));
  uint64_t s = 777;
  for (int64_t r = 0; r < B; ++r)
    for (int64_t k = 0; k < n; ++k) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      const int64_t t = int64_t((s >> 33) % uint64_t(L)), i = r * L + t;
      if (b.labels[i] != -100) continue;
      b.labels[i] = b.input_ids[i];
      b.input_ids[i] = 67 < vocab ? 67 : vocab - 1;
    }
}

int run_worker(const std::vector<std::string>& argv) {
  const double t_start = now_s();
  std::set<std::string> options = {"model", "length", "batch", "repeat", "warmup", "threads"};
  options.insert(backend_option_names().begin(), backend_option_names().end());
  Args args(argv, options, {"gradient-checkpointing", "profile"});
  const std::unique_ptr<train::StepRunner> runner = backend::make_train_step_runner(parse_backend_flags(args));
  set_num_threads(args.get_int("threads", 0));
  const int64_t L = args.get_int("length", 1024), B = args.get_int("batch", 1);
  const int repeat = std::max(1, args.get_int("repeat", 3)), warmup = std::max(0, args.get_int("warmup", 1));
  const double t0 = now_s();
  train::TrainableBigBird model = train::TrainableBigBird::load(args.require("model"), Head::MaskedLM);
  const double load_s = now_s() - t0;
  const int64_t V = model.config().vocab_size;

  train::TrainBatch batch;
  batch.input_ids = I64Tensor({B, L});
  uint64_t s = 12345;
  for (int64_t i = 0; i < batch.input_ids.numel(); ++i) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    batch.input_ids[i] = 5 + int64_t((s >> 33) % uint64_t(V - 5));
  }
  mask_like_reference(batch, V);

  train::OptimizerConfig oc;  // torch.optim.AdamW defaults (weight decay 0.01 on every parameter)
  oc.no_decay.clear();
  train::Optimizer optimizer(oc);
  train::StepOptions so;
  so.gradient_checkpointing = args.has("gradient-checkpointing");
  std::vector<double> times, cpu_times, losses;
  train::OptimizerStepResult r;
  for (int i = 0; i < warmup + repeat; ++i) {
    if (i == warmup && args.has("profile")) {
      prof::reset();
      prof::set_enabled(true);
    }
    const double a = now_s(), ca = cpu_s();
    so.step = uint64_t(i);
    train::OptimizerStep st;  // zero grads, forward + backward, AdamW at lr 1e-4 without clipping
    st.model = &model;
    st.optimizer = &optimizer;
    st.batch = [&](int64_t) {
      train::TrainBatch b;
      b.input_ids = batch.input_ids.clone();
      b.labels = batch.labels.clone();
      return b;
    };
    st.options = so;
    st.lr = 1e-4;
    st.max_grad_norm = 0.0;
    r = runner->run(st);
    const double dt = now_s() - a, dc = cpu_s() - ca;
    std::fprintf(stderr, "train step %d: %.3f s (cpu %.3f s), loss %.4f on %s\n", i, dt, dc, r.loss, r.ran_on.c_str());
    if (i >= warmup) {
      times.push_back(dt);
      cpu_times.push_back(dc);
    }
    losses.push_back(r.loss);
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  nlohmann::json j;
  j["impl"] = "bigbird";
  j["threads"] = num_threads();
  j["length"] = L;
  j["batch"] = B;
  j["attention_type"] = attn::to_string(r.decision.type);
  j["backend"] = r.ran_on;
  j["gradient_checkpointing"] = so.gradient_checkpointing;
  j["seconds"] = times;
  j["median_s"] = median(times);
  j["cpu_seconds"] = cpu_times;
  j["median_cpu_s"] = median(cpu_times);
  j["loadavg_1min"] = [] {
    double l[1] = {0};
    getloadavg(l, 1);
    return l[0];
  }();
  j["losses"] = losses;
  j["saved_activation_mb"] = double(r.saved_activation_bytes) / 1048576.0;
  j["load_s"] = load_s;
  j["process_s"] = now_s() - t_start;
  j["peak_rss_mb"] = double(ru.ru_maxrss) / 1024.0;
  if (args.has("profile")) {
    nlohmann::json p = nlohmann::json::object();
    for (const auto& [stage, v] : prof::report()) p[stage] = v.first / repeat;
    j["profile_s"] = p;
  }
  std::printf("%s\n", j.dump().c_str());
  return 0;
}

void write_model_dir(const std::string& dir, const ModelConfig& c, uint64_t seed) {
  fs::create_directories(dir);
  io::write_file_atomic(dir + "/config.json", config_to_json(c));
  ParameterStore p = random_bigbird_mlm_parameters(c, seed);
  io::SafetensorsWriter w;
  for (const std::string& name : p.names()) w.add(name, p.get(name));
  w.write(dir + "/model.safetensors");
}

const Registrar reg{{"bench-train-worker", "(internal) one training benchmark configuration in a fresh process",
                     "usage: bigbird bench-train-worker --model DIR --length L [--batch B] [--repeat N] [--warmup N]\n"
                     "                                  [--threads N] [--gradient-checkpointing] [--profile]",
                     run_worker}};

}  // namespace

int run_bench_train(const std::vector<std::string>& argv_in) {
  std::vector<std::string> argv;
  for (const std::string& a : argv_in)
    if (a != "--train") argv.push_back(a);
  Args args(argv,
            {"shape", "length", "batch", "threads", "repeat", "warmup", "reference", "json", "keep-weights", "model",
             "checkpointing", "backend", "device"},
            {"profile"});
  const backend::Selection selection = parse_backend_flags(args);
  set_num_threads(args.get_int("threads", 0));
  const std::string shape = args.get_or("shape", "base");
  ModelConfig config = bigbird_shape_config(shape);
  const std::vector<std::string> lengths = args.get_list("length", {"1024", "4096"});
  const std::string batch = std::to_string(args.get_int("batch", 1));
  const std::string repeat = std::to_string(std::max(1, args.get_int("repeat", 3)));
  const std::string warmup = std::to_string(std::max(0, args.get_int("warmup", 1)));
  const std::string ck = args.get_or("checkpointing", "both");
  std::vector<bool> modes;
  if (ck == "both" || ck == "off") modes.push_back(false);
  if (ck == "both" || ck == "on") modes.push_back(true);
  if (modes.empty()) throw Error("--checkpointing must be both, off or on");
  std::string reference = args.get_or("reference", "auto");
  const std::optional<std::string> script = torch_script();
  if (reference == "auto")
    reference = script && run_process({"/usr/bin/python3", "-c", "import torch"}).exit_code == 0 ? "torch" : "none";
  if (reference == "torch" && !script) throw Error("PyTorch reference script not found (set BIGBIRD_TORCH_REFERENCE)");
  if (reference != "torch" && reference != "none") throw Error("--reference must be torch or none");

  std::printf(
      "bigbird bench --train: shape %s (%d layers, hidden %lld, block %d, r %d), BigBirdForMaskedLM, batch %s, "
      "%d threads, dropout %.2g\n",
      shape.c_str(), config.num_hidden_layers, (long long)config.hidden_size, config.block_size,
      config.num_random_blocks, batch.c_str(), num_threads(), config.hidden_dropout_prob);
  const bool keep = args.has("keep-weights") || args.has("model");
  std::string dir;
  if (args.has("model")) {
    dir = args.require("model");
  } else {
    dir = args.has("keep-weights")
              ? args.require("keep-weights")
              : (fs::temp_directory_path() / ("bigbird-bench-train-" + std::to_string(getpid()))).string();
    write_model_dir(dir, config, 20240601);
  }
  std::printf("%-7s %-13s %9s %9s %9s %9s | %9s %9s %9s %8s %8s %8s\n", "length", "checkpointing", "engine s", "cpu s",
              "RSS MB", "saved MB", "torch s", "cpu s", "torch MB", "speedup", "cpu x", "mem x");
  std::fflush(stdout);
  nlohmann::json results = nlohmann::json::array();
  const std::string self = self_executable();
  for (const std::string& len : lengths) {
    nlohmann::json torch_row;
    if (reference == "torch") {
      ProcessResult tr =
          run_process({"/usr/bin/python3", *script, "--model", dir, "--length", len, "--batch", batch, "--train",
                       "--repeat", repeat, "--warmup", warmup, "--threads", std::to_string(num_threads())},
                      {{"LD_LIBRARY_PATH", "/usr/lib/x86_64-linux-gnu/openblas-pthread"},
                       {"OPENBLAS_NUM_THREADS", std::to_string(num_threads())},
                       {"OMP_NUM_THREADS", std::to_string(num_threads())},
                       {"OMP_WAIT_POLICY", "PASSIVE"}});
      try {
        torch_row = last_json_line(tr, "PyTorch reference training step at " + len);
      } catch (const Error& e) {  // e.g. out of memory at 4096: report it, keep measuring the engine
        std::printf("%-7s PyTorch reference failed: %s\n", len.c_str(), e.what());
        torch_row = nlohmann::json{{"error", e.what()}};
      }
    }
    for (bool checkpointing : modes) {
      std::vector<std::string> worker = {
          self,  "bench-train-worker", "--model", dir,        "--length", len,         "--batch",
          batch, "--repeat",           repeat,    "--warmup", warmup,     "--threads", std::to_string(num_threads())};
      if (checkpointing) worker.push_back("--gradient-checkpointing");
      if (selection.kind != backend::Kind::Cpu) {
        worker.insert(worker.end(), {"--backend", backend::to_string(selection.kind)});
        if (!selection.device.empty()) worker.insert(worker.end(), {"--device", selection.device});
      }
      if (args.has("profile")) worker.push_back("--profile");
      const nlohmann::json e = last_json_line(run_process(worker), "bench-train-worker " + len);
      const double t = e["median_s"], ct = e["median_cpu_s"], mem = e["peak_rss_mb"];
      nlohmann::json row = {{"length", std::stoll(len)}, {"gradient_checkpointing", checkpointing}, {"engine", e}};
      std::string torch_cols = "        -         -         -        -        -        -";
      if (torch_row.contains("error")) {
        row["torch"] = torch_row;
      } else if (!torch_row.is_null()) {
        const double tt = torch_row["median_s"], tm = torch_row["peak_rss_mb"];
        std::vector<double> tc = torch_row.value("cpu_seconds", std::vector<double>{});
        const double tct = median(tc);
        row["torch"] = torch_row;
        row["speedup"] = tt / t;
        row["cpu_speedup"] = ct > 0 ? tct / ct : 0.0;
        row["memory_ratio"] = mem / tm;
        char buf[160];
        std::snprintf(buf, sizeof buf, "%9.2f %9.2f %9.0f %7.2fx %7.2fx %7.2fx", tt, tct, tm, tt / t,
                      ct > 0 ? tct / ct : 0.0, mem / tm);
        torch_cols = buf;
      }
      std::printf("%-7s %-13s %9.2f %9.2f %9.0f %9.0f | %s\n", len.c_str(), checkpointing ? "on" : "off", t, ct, mem,
                  double(e["saved_activation_mb"]), torch_cols.c_str());
      if (selection.kind != backend::Kind::Cpu)
        std::printf("        ran on %s\n", std::string(e.value("backend", "cpu")).c_str());
      if (e.contains("profile_s")) {
        std::printf("%s\n", format_profile("        profile (per step):", e["profile_s"]).c_str());
      }
      std::fflush(stdout);
      results.push_back(row);
    }
  }
  if (auto out = args.get("json")) {
    nlohmann::json doc = {{"shape", shape}, {"threads", num_threads()}, {"mode", "train"}, {"results", results}};
    io::write_file_atomic(*out, doc.dump(1) + "\n");
  }
  if (!keep) fs::remove_all(dir);
  return 0;
}

}  // namespace bb::cli
