// bigbird bench --summarize: encode a random 4096-token document and beam-search a fixed number of tokens
// with random BigBird-Pegasus weights, the engine and the PyTorch reference (scripts/bench/
// torch_pegasus_bench.py, HF's algorithm) each in a fresh process on the same weights and ids:
// encoder seconds, decoder ms/token, peak RSS, ratios.
#include "app/cli/bench_profile.h"
#include "app/cli/bench_summarize.h"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "app/cli/args.h"
#include "app/cli/backend_flags.h"
#include "app/cli/command.h"
#include "app/cli/subprocess.h"
#include "engine/core/error.h"
#include "engine/core/profiler.h"
#include "engine/core/thread_pool.h"
#include "engine/generate/generate.h"
#include "engine/generate/pegasus_source.h"
#include "engine/io/atomic_file.h"
#include "engine/models/pegasus_model.h"
#include "engine/models/pegasus_random_weights.h"

namespace bb::cli {

const char* kBenchSummarizeUsage = R"(usage: bigbird bench --summarize [--shape pegasus-large|pegasus-tiny] [--length 4096]
                    [--new-tokens 128] [--beams 5] [--threads N] [--reference torch|none]
                    [--keep-weights DIR] [--model DIR] [--json FILE] [--profile]

Summarization benchmark on random BigBird-Pegasus weights: one document of --length random ids is
encoded, then --new-tokens tokens are generated with --beams beam search (HF semantics; EOS banned
until the last token so every run does the same number of steps). The engine and the PyTorch
reference (scripts/bench/torch_pegasus_bench.py on OpenBLAS) run in fresh processes on the same
weights and ids; the table shows encoder seconds, decoder ms/token, peak RSS and the ratios.)";

namespace {

namespace fs = std::filesystem;

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Streams the random model to model.safetensors one tensor at a time (a 2.3 GB model never sits in
// memory twice).
void write_random_model(const std::string& dir, const ModelConfig& c, uint64_t seed) {
  fs::create_directories(dir);
  io::write_file_atomic(dir + "/config.json", config_to_json(c));
  const auto shapes = pegasus_parameter_shapes(c);
  nlohmann::json header = nlohmann::json::object();
  uint64_t offset = 0;
  for (const auto& [name, shape] : shapes) {
    const uint64_t bytes = uint64_t(shape_numel(shape)) * 4;
    header[name] = {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  header["__metadata__"] = {{"format", "pt"}, {"generator", "bigbird bench --summarize (random weights)"}};
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  uint64_t n = text.size();
  io::AtomicFileWriter w(dir + "/model.safetensors");
  w.write(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&n), 8));
  w.write(text);
  for (const auto& [name, shape] : shapes) {
    const Tensor t = random_pegasus_tensor(name, shape, seed);
    w.write(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(t.data()), t.bytes()));
  }
  w.commit();
}

// The same ids as the encoder bench worker and torch_pegasus_bench.py.
I64Tensor lcg_ids(int64_t n, int64_t vocab) {
  I64Tensor ids({1, n});
  uint64_t s = 12345;
  for (int64_t i = 0; i < n; ++i) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    ids[i] = 5 + int64_t((s >> 33) % uint64_t(vocab - 5));
  }
  return ids;
}

nlohmann::json last_json_line(const ProcessResult& r, const std::string& what) {
  if (r.exit_code != 0) throw Error(what + " failed (exit " + std::to_string(r.exit_code) + "): " + r.err.substr(0, 2000));
  const size_t end = r.out.find_last_not_of("\n ");
  if (end == std::string::npos) throw Error(what + " printed nothing");
  size_t start = r.out.rfind('\n', end);
  start = start == std::string::npos ? 0 : start + 1;
  return nlohmann::json::parse(r.out.substr(start, end - start + 1));
}

int run_worker(const std::vector<std::string>& argv) {
  const double t_start = now_s();
  std::set<std::string> options = {"model", "length", "new-tokens", "beams", "threads"};
  options.insert(backend_option_names().begin(), backend_option_names().end());
  Args args(argv, options, {"profile"});
  const backend::Selection selection = parse_backend_flags(args);
  set_num_threads(args.get_int("threads", 0));
  const int64_t L = args.get_int("length", 4096), new_tokens = args.get_int("new-tokens", 128);
  if (args.has("profile")) prof::set_enabled(true);

  double t0 = now_s();
  const PegasusModel model = PegasusModel::load(args.require("model"));
  const double load_s = now_s() - t0;
  const I64Tensor ids = lcg_ids(L, model.config().vocab_size);

  t0 = now_s();
  PegasusEncodeOptions eopt;
  eopt.backend = selection.kind;
  eopt.device = selection.device;
  const PegasusEncoding enc = model.encode(ids, I64Tensor(), eopt);
  const double encoder_s = now_s() - t0;
  model.release_encoder_weights();  // as `bigbird summarize` does before decoding

  gen::GenerationConfig g = gen::generation_config_for(model.config());
  g.num_beams = args.get_int("beams", 5);
  g.max_length = g.min_length = new_tokens + 1;
  g.length_penalty = 0.8;
  g.early_stopping = gen::EarlyStopping::False;
  gen::PegasusSource source(model, enc, selection);
  t0 = now_s();
  const gen::GenerationResult r = gen::generate(source, g);
  const double decoder_s = now_s() - t0;

  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  nlohmann::json j = {{"impl", "bigbird"},
                      {"threads", num_threads()},
                      {"length", L},
                      {"beams", g.num_beams},
                      {"new_tokens", new_tokens},
                      {"steps", r.steps},
                      {"generated_tokens", r.outputs[0].tokens.size()},
                      {"encoder_attention", enc.decision.reason},
                      {"encoder_backend", enc.backend},
                      {"decoder_backend", source.decoder_backend()},
                      {"load_s", load_s},
                      {"encoder_s", encoder_s},
                      {"decoder_s", decoder_s},
                      {"decoder_ms_per_token", 1000.0 * decoder_s / double(std::max<int64_t>(1, r.steps))},
                      {"sequence_score", r.outputs[0].score},
                      {"peak_rss_mb", double(ru.ru_maxrss) / 1024.0},
                      {"process_s", now_s() - t_start}};
  if (args.has("profile")) {
    nlohmann::json p = nlohmann::json::object();
    for (const auto& [stage, v] : prof::report()) p[stage] = v.first;
    j["profile_s"] = p;
  }
  std::printf("%s\n", j.dump().c_str());
  return 0;
}

const Registrar worker_reg{{"bench-summarize-worker", "(internal) one summarization benchmark run in a fresh process",
                            "usage: bigbird bench-summarize-worker --model DIR [--length L] [--new-tokens N] [--beams B] [--threads N] [--profile]",
                            run_worker}};

}  // namespace

int run_bench_summarize(const std::vector<std::string>& argv) {
  std::set<std::string> options = {"shape",     "length",       "new-tokens", "beams", "threads",
                                   "reference", "keep-weights", "model",      "json"};
  options.insert(backend_option_names().begin(), backend_option_names().end());
  Args args(argv, options, {"summarize", "profile"});
  const backend::Selection selection = parse_backend_flags(args);
  set_num_threads(args.get_int("threads", 0));
  const std::string shape = args.get_or("shape", "pegasus-large");
  const ModelConfig config = pegasus_shape_config(shape);
  const std::string length = std::to_string(args.get_int("length", 4096));
  const std::string new_tokens = std::to_string(args.get_int("new-tokens", 128));
  const std::string beams = std::to_string(args.get_int("beams", 5));
  const std::string threads = std::to_string(num_threads());
  if (std::stoll(length) > config.max_position_embeddings || std::stoll(length) < 1)
    throw Error("--length must be in 1.." + std::to_string(config.max_position_embeddings));
  if (std::stoll(new_tokens) < 1 || std::stoll(new_tokens) >= config.max_position_embeddings)
    throw Error("--new-tokens must be in 1.." + std::to_string(config.max_position_embeddings - 1));
  std::string reference = args.get_or("reference", "auto");
  const std::string script = std::string(BIGBIRD_SOURCE_DIR) + "/scripts/bench/torch_pegasus_bench.py";
  if (reference == "auto")
    reference = fs::exists(script) && run_process({"/usr/bin/python3", "-c", "import torch"}).exit_code == 0 ? "torch" : "none";
  if (reference != "torch" && reference != "none") throw Error("--reference must be torch or none");

  std::printf("bigbird bench --summarize: shape %s (%d+%d layers, d_model %lld, %d heads, vocab %lld), %s input tokens, "
              "%s new tokens, beam %s, %s threads\n",
              shape.c_str(), config.num_hidden_layers, config.decoder_layers, (long long)config.hidden_size,
              config.num_attention_heads, (long long)config.vocab_size, length.c_str(), new_tokens.c_str(),
              beams.c_str(), threads.c_str());
  std::fflush(stdout);
  std::string dir;
  const bool keep = args.has("keep-weights") || args.has("model");
  if (args.has("model")) {
    dir = args.require("model");
    std::printf("using the weights in %s\n", dir.c_str());
  } else {
    dir = args.has("keep-weights") ? args.require("keep-weights")
                                   : (fs::temp_directory_path() / ("bigbird-bench-pegasus-" + std::to_string(getpid()))).string();
    const double t = now_s();
    write_random_model(dir, config, 20240601);
    std::printf("random weights written to %s in %.1f s\n", dir.c_str(), now_s() - t);
  }
  std::fflush(stdout);

  nlohmann::json doc = {{"shape", shape}, {"length", std::stoll(length)}, {"new_tokens", std::stoll(new_tokens)},
                        {"beams", std::stoll(beams)}, {"threads", num_threads()}};
  std::vector<std::string> worker = {self_executable(), "bench-summarize-worker", "--model", dir, "--length", length,
                                     "--new-tokens", new_tokens, "--beams", beams, "--threads", threads};
  if (args.has("profile")) worker.push_back("--profile");
  if (selection.kind != backend::Kind::Cpu) worker.insert(worker.end(), {"--backend", backend::to_string(selection.kind)});
  if (!selection.device.empty()) worker.insert(worker.end(), {"--device", selection.device});
  const nlohmann::json e = last_json_line(run_process(worker), "bench-summarize-worker");
  doc["engine"] = e;
  if (selection.kind != backend::Kind::Cpu && e.contains("encoder_backend"))
    std::printf("engine encoder ran on %s; the decoder on %s\n", std::string(e["encoder_backend"]).c_str(),
                std::string(e.value("decoder_backend", "?")).c_str());
  std::optional<nlohmann::json> t;
  if (reference == "torch") {
    t = last_json_line(run_process({"/usr/bin/python3", script, "--model", dir, "--length", length, "--new-tokens",
                                    new_tokens, "--beams", beams, "--threads", threads},
                                   {{"LD_LIBRARY_PATH", "/usr/lib/x86_64-linux-gnu/openblas-pthread"},
                                    {"OPENBLAS_NUM_THREADS", threads},
                                    {"OMP_NUM_THREADS", threads},
                                    {"OMP_WAIT_POLICY", "PASSIVE"}}),
                       "PyTorch reference");
    doc["torch"] = *t;
  }

  std::printf("\n%-8s %11s %18s %12s %10s %12s\n", "", "encoder s", "decoder ms/token", "decoder s", "load s", "peak RSS MB");
  auto row = [](const char* name, const nlohmann::json& j) {
    std::printf("%-8s %11.2f %18.1f %12.2f %10.2f %12.0f\n", name, double(j["encoder_s"]), double(j["decoder_ms_per_token"]),
                double(j["decoder_s"]), double(j["load_s"]), double(j["peak_rss_mb"]));
  };
  row("engine", e);
  if (t) {
    row("torch", *t);
    const double enc_x = double((*t)["encoder_s"]) / double(e["encoder_s"]);
    const double dec_x = double((*t)["decoder_ms_per_token"]) / double(e["decoder_ms_per_token"]);
    const double total_x = (double((*t)["encoder_s"]) + double((*t)["decoder_s"])) / (double(e["encoder_s"]) + double(e["decoder_s"]));
    const double mem_x = double(e["peak_rss_mb"]) / double((*t)["peak_rss_mb"]);
    std::printf("speedup (torch / engine): encoder %.2fx, decoder %.2fx, encode+decode %.2fx; memory engine/torch %.2fx\n",
                enc_x, dec_x, total_x, mem_x);
    doc["speedup"] = {{"encoder", enc_x}, {"decoder", dec_x}, {"total", total_x}};
    doc["memory_ratio"] = mem_x;
  }
  if (e.contains("profile_s")) {
    std::printf("%s\n", format_profile("engine profile:", e["profile_s"]).c_str());
  }
  if (auto out = args.get("json")) io::write_file_atomic(*out, doc.dump(1) + "\n");
  if (!keep) fs::remove_all(dir);
  return 0;
}

}  // namespace bb::cli
