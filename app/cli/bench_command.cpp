// bigbird bench: forward-pass benchmark with random weights, every configuration in a fresh process,
// the machine's sgemm peak measured in the same run, and the PyTorch reference (same weights, same
// inputs, OpenBLAS) side by side.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <map>
#include <optional>

#include "app/cli/bench_profile.h"
#include "app/cli/args.h"
#include "app/cli/bench_summarize.h"
#include "app/cli/bench_train.h"
#include "app/cli/command.h"
#include "app/cli/subprocess.h"
#include "engine/backend/backend.h"
#include "engine/core/error.h"
#include "engine/core/thread_pool.h"
#include "engine/io/atomic_file.h"
#include "engine/io/safetensors.h"
#include "engine/models/cost_model.h"
#include "engine/models/random_weights.h"
#include "engine/ops/gemm.h"

namespace bb::cli {
namespace {

namespace fs = std::filesystem;

const char* kUsage = R"(usage: bigbird bench [--shape base|large|tiny] [--length 1024,2048,4096]
                    [--attention-type block_sparse,original_full] [--batch 1] [--threads N]
                    [--repeat 3] [--warmup 1] [--reference torch|none] [--json FILE] [--keep-weights DIR]
                    [--model DIR] [--profile] [--backend cpu|vulkan|auto] [--device SPEC]

Benchmarks the encoder forward pass on random weights of a published shape. Each configuration runs
in a fresh process (median of --repeat runs after --warmup; peak RSS of that process). The same run
measures the machine's fp32 sgemm peak and, with --reference torch (default when /usr/bin/python3 has
torch), runs the PyTorch reference scripts/bench/torch_bigbird_bench.py on the same weights with
OpenBLAS, printing time and memory ratios. --keep-weights DIR keeps the random model; --model DIR reuses
it; --profile prints where each forward spends its time. --backend vulkan runs the engine on the GPU
(--device picks one, see `bigbird devices`) and prints per-kernel GPU times (timestamp queries); the
sgemm peak and the PyTorch reference stay on the CPU. With --summarize, --backend runs the Pegasus
encoder and decoder on the GPU; --train runs on the CPU.)";

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Best-of-5 GFLOP/s of a 2048^3 product through the engine's own GEMM path.
double measure_sgemm_gflops() {
  const int64_t n = 2048;
  Tensor a = Tensor::uninitialized({n, n}), b = Tensor::uninitialized({n, n}), c = Tensor::uninitialized({n, n});
  for (int64_t i = 0; i < n * n; ++i) {
    a[i] = float((i * 7) % 13) * 0.01f;
    b[i] = float((i * 5) % 11) * 0.01f;
  }
  double best = 1e30;
  for (int r = 0; r < 6; ++r) {
    const double t = now_s();
    ops::linear(a.data(), n, n, b.data(), n, nullptr, c.data());
    if (r > 0) best = std::min(best, now_s() - t);
  }
  return 2.0 * double(n) * double(n) * double(n) / best / 1e9;
}

void write_model_dir(const std::string& dir, const ModelConfig& c, uint64_t seed) {
  fs::create_directories(dir);
  io::write_file_atomic(dir + "/config.json", config_to_json(c));
  ParameterStore p = random_bigbird_mlm_parameters(c, seed);
  io::SafetensorsWriter w;
  for (const std::string& name : p.names()) w.add(name, p.get(name));
  w.write(dir + "/model.safetensors");
}

std::optional<std::string> torch_script() {
  if (const char* env = std::getenv("BIGBIRD_TORCH_REFERENCE")) return std::string(env);
  const std::string path = std::string(BIGBIRD_SOURCE_DIR) + "/scripts/bench/torch_bigbird_bench.py";
  if (fs::exists(path)) return path;
  return std::nullopt;
}

bool torch_available() {
  ProcessResult r = run_process({"/usr/bin/python3", "-c", "import torch"});
  return r.exit_code == 0;
}

nlohmann::json parse_last_json_line(const ProcessResult& r, const std::string& what) {
  if (r.exit_code != 0)
    throw Error(what + " failed (exit " + std::to_string(r.exit_code) + "): " + r.err.substr(0, 2000));
  size_t end = r.out.find_last_not_of("\n ");
  if (end == std::string::npos) throw Error(what + " printed nothing");
  size_t start = r.out.rfind('\n', end);
  start = start == std::string::npos ? 0 : start + 1;
  return nlohmann::json::parse(r.out.substr(start, end - start + 1));
}

int run_bench(const std::vector<std::string>& argv) {
  if (std::find(argv.begin(), argv.end(), "--summarize") != argv.end()) return run_bench_summarize(argv);
  if (std::find(argv.begin(), argv.end(), "--train") != argv.end()) return run_bench_train(argv);
  Args args(argv, {"shape", "length", "attention-type", "batch", "threads", "repeat", "warmup", "reference", "json",
                   "keep-weights", "model", "backend", "device"},
            {"profile"});
  const int threads = args.get_int("threads", 0);
  set_num_threads(threads);
  const std::string shape = args.get_or("shape", "base");
  const ModelConfig config = bigbird_shape_config(shape);
  const std::vector<std::string> lengths = args.get_list("length", {"1024", "2048", "4096"});
  const std::vector<std::string> types = args.get_list("attention-type", {"block_sparse", "original_full"});
  const std::string batch = std::to_string(args.get_int("batch", 1));
  const std::string repeat = std::to_string(std::max(1, args.get_int("repeat", 3)));
  const std::string warmup = std::to_string(std::max(0, args.get_int("warmup", 1)));
  std::string reference = args.get_or("reference", "auto");
  std::optional<std::string> script = torch_script();
  if (reference == "auto") reference = (script && torch_available()) ? "torch" : "none";
  if (reference == "torch" && !script) throw Error("PyTorch reference script not found (set BIGBIRD_TORCH_REFERENCE)");
  if (reference != "torch" && reference != "none") throw Error("--reference must be torch or none");
  const std::string backend_name = backend::to_string(backend::parse_kind(args.get_or("backend", "cpu")));

  std::printf("bigbird bench: shape %s (%d layers, hidden %lld, %d heads, block %d, r %d), batch %s, %d threads\n",
              shape.c_str(), config.num_hidden_layers, (long long)config.hidden_size, config.num_attention_heads,
              config.block_size, config.num_random_blocks, batch.c_str(), num_threads());
  const double peak = measure_sgemm_gflops();
  std::printf("sgemm peak (2048^3, engine GEMM path, best of 5): %.1f GFLOP/s\n", peak);
  std::fflush(stdout);

  const bool keep = args.has("keep-weights") || args.has("model");
  std::string dir;
  if (args.has("model")) {
    dir = args.require("model");  // an existing directory written by an earlier --keep-weights
    std::printf("using the weights in %s\n\n", dir.c_str());
  } else {
    dir = args.has("keep-weights")
              ? args.require("keep-weights")
              : (fs::temp_directory_path() / ("bigbird-bench-" + std::to_string(getpid()))).string();
    const double tw = now_s();
    write_model_dir(dir, config, 20240601);
    std::printf("random weights written to %s in %.1f s\n\n", dir.c_str(), now_s() - tw);
  }

  std::printf("%-7s %-15s %9s %9s %8s %6s %9s | %9s %9s %8s %8s\n", "length", "attention", "engine s", "tokens/s",
              "GFLOP/s", "%peak", "RSS MB", "torch s", "torch MB", "speedup", "mem x");
  nlohmann::json results = nlohmann::json::array();
  std::map<std::string, double> sparse_times;
  const std::string self = self_executable();
  for (const std::string& type : types)
    for (const std::string& len : lengths) {
      std::vector<std::string> worker = {self, "bench-worker", "--model", dir, "--length", len, "--batch", batch,
                                         "--attention-type", type, "--repeat", repeat, "--warmup", warmup,
                                         "--threads", std::to_string(num_threads())};
      worker.insert(worker.end(), {"--backend", backend_name});
      if (args.has("device")) worker.insert(worker.end(), {"--device", args.require("device")});
      if (args.has("profile") || backend_name != "cpu") worker.push_back("--profile");
      ProcessResult r = run_process(worker);
      nlohmann::json e = parse_last_json_line(r, "bench-worker " + type + " " + len);
      const int64_t L = std::stoll(len);
      const bool sparse = e["attention_type"] == "block_sparse";
      const double flops = encoder_forward_cost(config, L, sparse).total_flops() * std::stod(batch);
      const double t = e["median_s"];
      nlohmann::json row = {{"length", L}, {"attention_type", type}, {"engine", e}, {"flops", flops},
                            {"gflops", flops / t / 1e9}, {"sgemm_peak_gflops", peak}};
      std::string torch_cols = "        -         -        -        -";
      if (reference == "torch") {
        ProcessResult tr = run_process(
            {"/usr/bin/python3", *script, "--model", dir, "--length", len, "--batch", batch, "--attention-type", type,
             "--repeat", repeat, "--warmup", warmup, "--threads", std::to_string(num_threads())},
            {{"LD_LIBRARY_PATH", "/usr/lib/x86_64-linux-gnu/openblas-pthread"},
             {"OPENBLAS_NUM_THREADS", std::to_string(num_threads())},
             {"OMP_NUM_THREADS", std::to_string(num_threads())},
             {"OMP_WAIT_POLICY", "PASSIVE"}});
        nlohmann::json te = parse_last_json_line(tr, "PyTorch reference " + type + " " + len);
        row["torch"] = te;
        const double tt = te["median_s"], tm = te["peak_rss_mb"];
        row["speedup"] = tt / t;
        row["memory_ratio"] = double(e["peak_rss_mb"]) / tm;
        char buf[128];
        std::snprintf(buf, sizeof buf, "%9.2f %9.0f %7.2fx %7.2fx", tt, tm, tt / t, double(e["peak_rss_mb"]) / tm);
        torch_cols = buf;
      }
      std::printf("%-7s %-15s %9.2f %9.0f %8.1f %5.0f%% %9.0f | %s\n", len.c_str(), type.c_str(), t,
                  double(L) * std::stod(batch) / t, flops / t / 1e9, 100.0 * flops / t / 1e9 / peak,
                  double(e["peak_rss_mb"]), torch_cols.c_str());
      if (e.contains("backend") && e["backend"] != "cpu")
        std::printf("        ran on %s\n", std::string(e["backend"]).c_str());
      std::fflush(stdout);
      if (e.contains("profile_s")) {
        std::printf("%s\n", format_profile("        profile (per forward):", e["profile_s"]).c_str());
      }
      if (type == "block_sparse") sparse_times[len] = t;
      results.push_back(row);
    }
  if (sparse_times.count("2048") && sparse_times.count("4096"))
    std::printf("\nblock_sparse scaling t(4096)/t(2048) = %.2f\n", sparse_times["4096"] / sparse_times["2048"]);
  if (auto out = args.get("json")) {
    nlohmann::json doc = {{"shape", shape}, {"threads", num_threads()}, {"sgemm_peak_gflops", peak},
                          {"results", results}};
    io::write_file_atomic(*out, doc.dump(1) + "\n");
  }
  if (!keep) fs::remove_all(dir);
  return 0;
}

const std::string kUsageAll = std::string(kUsage) + "\n\n" + kBenchSummarizeUsage + "\n\n" + kBenchTrainUsage;
const Registrar reg{{"bench", "Benchmark the encoder (random weights) against the PyTorch reference", kUsageAll, run_bench}};

}  // namespace
}  // namespace bb::cli
