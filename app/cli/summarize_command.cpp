// bigbird summarize: summarize a document with a BigBird-Pegasus model, with a progress line on
// stderr (encoder %, tokens generated, tokens/s) and --json output with timings.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

#include "app/cli/args.h"
#include "app/cli/backend_flags.h"
#include "app/cli/command.h"
#include "app/cli/generation_flags.h"
#include "engine/core/error.h"
#include "engine/core/resource_dir.h"
#include "engine/core/thread_pool.h"
#include "engine/generate/summarizer.h"
#include "engine/models/fill_mask.h"
#include "engine/models/pegasus_model.h"
#include "engine/tokenize/tokenizer.h"

namespace bb::cli {
namespace {

const std::string kUsage = std::string(R"(usage: bigbird summarize --model DIR (--file doc.txt | --file - | --text T) [options]

Summarizes a document with a BigBird-Pegasus model (DIR = config.json + model.safetensors). The
summary goes to stdout; a progress line (encoder %, tokens generated, tokens/s) to stderr.
Defaults come from the model's config.json (num_beams, max_length, length_penalty, ...); where it has
none: --beams 5 --max-length 256 --length-penalty 0.8 (the BigBird-Pegasus summarization settings).

input:
  --vocab FILE             tokenizer (default: spiece.model in DIR, else the bundled pegasus.model)
  --convention hf|tf       hf (default): HF PegasusTokenizer, appends </s>; tf: the original TF pipeline
                           (newline -> <n>, no </s>)
  --long truncate|chunk|error
                           documents longer than the encoder reads (4096 tokens): truncate (default;
                           a notice says what was cut), chunk (summarize consecutive chunks and join
                           the summaries), error
  --max-input-tokens N     read at most N tokens per chunk (default: max_position_embeddings)
  --random-blocks hf-eval|hf-train|tf   encoder random blocks (default hf-eval, as HF generate())

)") + kGenerationFlagsHelp + R"(

output:
  --json                   one JSON object: summary, chunks, notice, settings, timings
  --cross-attention K      (with --json) per summary token the K input tokens it attended to most
  --progress               live progress line even when stderr is not a terminal
  --quiet                  no progress or statistics on stderr
  --threads N              worker threads (default: all cores)
)" + kBackendFlagsHelp;

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string read_document(const std::string& file) {
  std::ostringstream ss;
  if (file == "-") {
    ss << std::cin.rdbuf();
    return ss.str();
  }
  if (std::filesystem::is_directory(file)) throw Error(file + ": is a directory, not a document");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(file + ": cannot open the document");
  ss << in.rdbuf();
  if (in.bad()) throw Error(file + ": cannot read the document");
  return ss.str();
}

std::string vocab_path(const Args& args, const std::string& model_dir) {
  if (auto v = args.get("vocab")) return *v;
  if (auto found = find_tokenizer_file(model_dir)) return *found;
  return bb::resource_path("vocab/pegasus.model");
}

std::atomic<bool> g_interrupted{false};
void on_sigint(int) { g_interrupted.store(true); }

class ProgressLine {
 public:
  explicit ProgressLine(bool live) : live_(live) {}
  void update(const gen::SummaryProgress& p) {
    if (!live_) return;
    char buf[200];
    const std::string chunk = p.chunks > 1 ? "chunk " + std::to_string(p.chunk + 1) + "/" + std::to_string(p.chunks) + " | " : "";
    if (p.stage == gen::SummaryProgress::Stage::Encoding) {
      std::snprintf(buf, sizeof buf, "%sencoder %3d%%", chunk.c_str(), p.layers ? 100 * p.layers_done / p.layers : 0);
    } else {
      const double rate = p.decode_seconds > 0 ? double(p.tokens_generated) / p.decode_seconds : 0.0;
      std::snprintf(buf, sizeof buf, "%sencoder 100%% | %lld/%lld tokens | %.1f tokens/s", chunk.c_str(),
                    (long long)p.tokens_generated, (long long)p.max_tokens, rate);
    }
    std::fprintf(stderr, "\r%-72s", buf);
    std::fflush(stderr);
    shown_ = true;
  }
  void finish() {
    if (shown_) std::fprintf(stderr, "\r%-72s\r", "");
    shown_ = false;
  }

 private:
  bool live_, shown_ = false;
};

nlohmann::json top_sources(const gen::ChunkSummary& ch, const std::vector<float>& w, int k, const tok::Tokenizer& t) {
  std::vector<size_t> order(w.size());
  std::iota(order.begin(), order.end(), 0);
  const size_t n = std::min(order.size(), size_t(k));
  std::partial_sort(order.begin(), order.begin() + long(n), order.end(), [&](size_t a, size_t b) { return w[a] > w[b]; });
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < n; ++i) {
    const size_t pos = order[i];
    out.push_back({{"input_position", pos},
                   {"weight", w[pos]},
                   {"piece", t.id_to_piece(ch.input_ids[pos])},
                   {"chars", {ch.input_spans[pos].first, ch.input_spans[pos].second}}});
  }
  return out;
}

int run_summarize(const std::vector<std::string>& argv) {
  const double t_start = now_s();
  std::set<std::string> options = {"model", "file", "text", "vocab", "convention", "long", "max-input-tokens",
                                   "random-blocks", "threads", "cross-attention"};
  options.insert(generation_option_names().begin(), generation_option_names().end());
  options.insert(backend_option_names().begin(), backend_option_names().end());
  Args args(argv, options, {"json", "quiet", "progress"});
  const backend::Selection selection = parse_backend_flags(args);
  if (!args.positional().empty()) throw Error("unexpected argument '" + args.positional().front() + "' (see --help)");
  if (args.has("file") == args.has("text")) throw Error("give exactly one of --file (a path or - for stdin) or --text");
  if (args.has("threads")) set_num_threads(args.get_int("threads", 0));
  const std::string dir = args.require("model");
  const bool json_out = args.has("json");
  const int top_k = args.get_int("cross-attention", 0);
  if (top_k < 0) throw Error("--cross-attention needs a count >= 1");
  if (top_k > 0 && !json_out) throw Error("--cross-attention is reported in the --json output only");

  gen::SummarizeOptions opt;
  opt.convention = gen::parse_input_convention(args.get_or("convention", "hf"));
  opt.long_document = gen::parse_long_document(args.get_or("long", "truncate"));
  opt.random_blocks = attn::parse_random_blocks(args.get_or("random-blocks", "hf-eval"));
  opt.max_input_tokens = args.get_int("max-input-tokens", 0);
  if (opt.max_input_tokens < 0) throw Error("--max-input-tokens must be positive");

  // The document first: a bad document is reported before the (slow) model load.
  const std::string label = args.has("text") ? "--text" : (args.require("file") == "-" ? "stdin" : args.require("file"));
  const std::string text = args.has("text") ? args.require("text") : read_document(args.require("file"));
  gen::check_document(text, label);

  opt.backend = selection.kind;
  opt.device = selection.device;
  const double t_load = now_s();
  PegasusModel model = PegasusModel::load(dir);
  const std::string vocab = vocab_path(args, dir);
  const auto tokenizer = tok::load_tokenizer(
      vocab, opt.convention == gen::InputConvention::HF ? tok::Flavor::PegasusHF : tok::Flavor::PegasusTF);
  const double load_s = now_s() - t_load;

  const ModelConfig& c = model.config();
  opt.generation = gen::generation_config_for(c);
  if (!c.extra.count("num_beams")) opt.generation.num_beams = 5;
  if (!c.extra.count("max_length")) opt.generation.max_length = 256;
  if (!c.extra.count("length_penalty")) opt.generation.length_penalty = 0.8;
  opt.generation.max_length = std::min<int64_t>(opt.generation.max_length, c.max_position_embeddings);
  apply_generation_flags(args, opt.generation);
  opt.generation.capture_cross_attention = top_k > 0;

  const bool quiet = args.has("quiet");
  ProgressLine line(!quiet && (args.has("progress") || isatty(2)));
  std::signal(SIGINT, on_sigint);  // Ctrl-C: stop generating, print what there is
  const gen::SummaryResult r =
      gen::summarize(model, *tokenizer, text, opt, [&](const gen::SummaryProgress& p) { line.update(p); }, &g_interrupted);
  line.finish();
  std::signal(SIGINT, SIG_DFL);
  const double total_s = now_s() - t_start;
  if (!r.notice.empty() && !quiet) std::fprintf(stderr, "bigbird summarize: note: %s\n", r.notice.c_str());
  if (r.cancelled && !quiet) std::fprintf(stderr, "bigbird summarize: interrupted; the summary is incomplete\n");

  const double ms_per_token = r.generated_tokens ? 1000.0 * r.decode_s / double(r.generated_tokens) : 0.0;
  if (json_out) {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    nlohmann::json chunks = nlohmann::json::array();
    for (const gen::ChunkSummary& ch : r.chunks) {
      nlohmann::json jc = {{"text", ch.text},
                           {"summary_ids", ch.summary_ids},
                           {"ends_with_eos", ch.ends_with_eos},
                           {"score", ch.score},
                           {"input_tokens", ch.input_ids.size()},
                           {"document_tokens", {ch.first_token, ch.end_token}},
                           {"chars", {ch.char_span.first, ch.char_span.second}},
                           {"encoder_attention", ch.decision.reason},
                           {"encoder_backend", ch.encoder_backend},
                           {"decoder_backend", ch.decoder_backend},
                           {"decoder_steps", ch.decoder_steps},
                           {"encode_s", ch.encode_s},
                           {"decode_s", ch.decode_s}};
      if (top_k > 0) {
        nlohmann::json per_token = nlohmann::json::array();
        for (size_t i = 0; i < ch.cross_attention.size(); ++i)
          per_token.push_back({{"id", ch.summary_ids[i]},
                               {"piece", tokenizer->id_to_piece(int32_t(ch.summary_ids[i]))},
                               {"sources", top_sources(ch, ch.cross_attention[i], top_k, *tokenizer)}});
        jc["cross_attention"] = per_token;
      }
      chunks.push_back(jc);
    }
    const gen::GenerationConfig& g = opt.generation;
    nlohmann::json j = {
        {"summary", r.summary},
        {"cancelled", r.cancelled},
        {"document_tokens", r.document_tokens},
        {"truncated", r.truncated},
        {"notice", r.notice},
        {"chunks", chunks},
        {"model", dir},
        {"vocab", vocab},
        {"settings",
         {{"num_beams", g.num_beams}, {"max_length", g.max_length}, {"min_length", g.min_length},
          {"length_penalty", g.length_penalty}, {"early_stopping", gen::to_string(g.early_stopping)},
          {"no_repeat_ngram_size", g.no_repeat_ngram_size}, {"beam_scoring", gen::to_string(g.beam_scoring)},
          {"convention", args.get_or("convention", "hf")}, {"long", gen::to_string(opt.long_document)},
          {"random_blocks", attn::to_string(opt.random_blocks)}, {"threads", num_threads()}}},
        {"timings",
         {{"load_s", load_s}, {"tokenize_s", r.tokenize_s}, {"encode_s", r.encode_s}, {"decode_s", r.decode_s},
          {"total_s", total_s}, {"generated_tokens", r.generated_tokens}, {"decoder_ms_per_token", ms_per_token},
          {"tokens_per_s", r.decode_s > 0 ? double(r.generated_tokens) / r.decode_s : 0.0},
          {"peak_rss_mb", double(ru.ru_maxrss) / 1024.0}}}};
    std::printf("%s\n", j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::printf("%s\n", r.summary.c_str());
    if (!quiet)
      std::fprintf(stderr, "bigbird summarize: %lld input tokens encoded in %.2f s; %lld tokens generated in %.2f s (%.1f ms/token)\n",
                   (long long)r.document_tokens, r.encode_s, (long long)r.generated_tokens, r.decode_s, ms_per_token);
  }
  return r.cancelled ? 130 : 0;
}

const Registrar reg{{"summarize", "Summarize a document with BigBird-Pegasus (progress line, --json timings)", kUsage,
                     run_summarize}};

}  // namespace
}  // namespace bb::cli
