// bigbird fill-mask: top-k predictions for every [MASK] in a text.
#include <cstdio>
#include <set>
#include <nlohmann/json.hpp>

#include "app/cli/args.h"
#include "app/cli/backend_flags.h"
#include "app/cli/command.h"
#include "engine/core/error.h"
#include "engine/core/thread_pool.h"
#include "engine/io/atomic_file.h"
#include "engine/models/default_model.h"
#include "engine/models/fill_mask.h"

namespace bb::cli {
namespace {

const char* kUsage = R"(usage: bigbird fill-mask [--model DIR] (--text "... [MASK] ..." | --file F) [--vocab FILE]
                         [--top-k 5] [--json] [--random-blocks tf|hf-train|hf-eval] [--threads N]
                         [--backend cpu|vulkan|auto] [--device SPEC]

Predicts the most likely tokens for every mask token in the text with the model's MLM head.
The vocabulary defaults to the tokenizer file in DIR (spiece.model / vocab.txt). Without --model, the
bundled default model (resources/default-model, a small teaching model trained on Jane Austen) is used.)";

int run_fill_mask(const std::vector<std::string>& argv) {
  std::set<std::string> options = {"model", "text", "file", "vocab", "top-k", "random-blocks", "threads"};
  options.insert(backend_option_names().begin(), backend_option_names().end());
  Args args(argv, options, {"json"});
  const backend::Selection selection = parse_backend_flags(args);
  if (args.has("threads")) set_num_threads(args.get_int("threads", 0));
  const std::string dir = model_dir_or_default(args.get_or("model", ""), "--model");
  if (args.has("text") == args.has("file")) throw Error("give exactly one of --text or --file");
  const std::string text = args.has("text") ? args.require("text") : io::read_text_file(args.require("file"));
  std::string vocab;
  if (args.has("vocab")) {
    vocab = args.require("vocab");
  } else if (auto found = find_tokenizer_file(dir)) {
    vocab = *found;
  } else {
    throw Error(dir + ": no tokenizer file (spiece.model or vocab.txt); pass --vocab FILE");
  }
  BigBirdModel model = BigBirdModel::load(dir);
  if (!model.has_head(Head::MaskedLM)) throw Error(dir + ": this checkpoint has no MLM head (cls.predictions.*)");
  auto tokenizer = tok::load_tokenizer(vocab);
  EncoderOptions opt;
  opt.backend = selection.kind;
  opt.device = selection.device;
  opt.random_blocks = attn::parse_random_blocks(args.get_or("random-blocks", "hf-train"));
  FillMaskResult r = fill_mask(model, *tokenizer, text, args.get_int("top-k", 5), opt);

  if (args.has("json")) {
    nlohmann::json j;
    j["tokens"] = r.num_tokens;
    j["attention"] = r.decision.reason;
    for (const MaskPrediction& m : r.masks) {
      nlohmann::json c = nlohmann::json::array();
      for (const MaskCandidate& k : m.candidates)
        c.push_back({{"id", k.id}, {"piece", k.piece}, {"text", k.text}, {"probability", k.probability}});
      j["masks"].push_back({{"position", m.position}, {"char_span", {m.char_span.first, m.char_span.second}},
                            {"candidates", c}});
    }
    std::printf("%s\n", j.dump(1).c_str());
    return 0;
  }
  std::printf("%lld tokens; %s\n", (long long)r.num_tokens, r.decision.reason.c_str());
  for (const MaskPrediction& m : r.masks) {
    std::printf("mask at token %lld:\n", (long long)m.position);
    for (const MaskCandidate& k : m.candidates)
      std::printf("  %6.2f%%  %-20s (id %d)\n", 100.0 * k.probability, k.text.c_str(), k.id);
  }
  return 0;
}

const Registrar reg{{"fill-mask", "Predict the tokens behind [MASK] in a text (MLM head)", kUsage, run_fill_mask}};

}  // namespace
}  // namespace bb::cli
