// bigbird bench-worker: one benchmark configuration in a fresh process (spawned by `bigbird bench`),
// so its peak memory is that configuration's alone. Prints one JSON line.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "app/cli/args.h"
#include "app/cli/command.h"
#include "engine/core/profiler.h"
#include "engine/core/thread_pool.h"
#include "engine/models/bigbird_model.h"

namespace bb::cli {
namespace {

const char* kUsage = R"(usage: bigbird bench-worker --model DIR --length L [--batch B] [--attention-type T]
                            [--repeat N] [--warmup N] [--threads N] [--random-blocks MODE]
                            [--backend cpu|vulkan|auto] [--device SPEC]
Internal: runs one forward configuration (random token ids) and prints one JSON line with timings and
peak RSS. `bigbird bench` calls it once per configuration.)";

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int run_worker(const std::vector<std::string>& argv) {
  const double t_start = now_s();
  Args args(argv, {"model", "length", "batch", "attention-type", "repeat", "warmup", "threads", "random-blocks",
                   "backend", "device"},
            {"profile"});
  set_num_threads(args.get_int("threads", 0));
  const int64_t L = args.get_int("length", 4096), B = args.get_int("batch", 1);
  const int repeat = std::max(1, args.get_int("repeat", 3)), warmup = std::max(0, args.get_int("warmup", 1));

  const double t0 = now_s();
  BigBirdModel model = BigBirdModel::load(args.require("model"));
  const double load_s = now_s() - t0;

  EncoderInputs in;
  in.input_ids = I64Tensor({B, L});
  uint64_t s = 12345;
  for (int64_t i = 0; i < in.input_ids.numel(); ++i) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    in.input_ids[i] = 5 + int64_t((s >> 33) % uint64_t(model.config().vocab_size - 5));
  }
  EncoderOptions opt;
  if (args.has("attention-type")) opt.attention_type = attn::parse_attention_type(args.require("attention-type"));
  opt.random_blocks = attn::parse_random_blocks(args.get_or("random-blocks", "hf-train"));
  opt.backend = backend::parse_kind(args.get_or("backend", "cpu"));
  opt.device = args.get_or("device", "");

  std::vector<double> times;
  attn::AttentionDecision decision;
  std::string ran_on;
  for (int i = 0; i < warmup + repeat; ++i) {
    if (i == warmup && args.has("profile")) {
      prof::reset();
      prof::set_enabled(true);
    }
    const double a = now_s();
    EncoderOutputs o = model.forward(in, opt);
    const double t = now_s() - a;
    decision = o.decision;
    ran_on = o.backend;
    if (i >= warmup) times.push_back(t);
  }
  std::vector<double> sorted = times;
  std::sort(sorted.begin(), sorted.end());
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  nlohmann::json j;
  j["impl"] = "bigbird";
  j["threads"] = num_threads();
  j["length"] = L;
  j["batch"] = B;
  j["attention_type"] = attn::to_string(decision.type);
  j["backend"] = ran_on;
  j["seconds"] = times;
  j["median_s"] = sorted[sorted.size() / 2];
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

const Registrar reg{{"bench-worker", "(internal) one benchmark configuration in a fresh process", kUsage, run_worker}};

}  // namespace
}  // namespace bb::cli
