// bigbird convert: any supported checkpoint -> a Hugging Face model directory (model.safetensors +
// config.json + tokenizer files) that transformers' from_pretrained and this engine load.
#include <cstdio>
#include <string>

#include "app/cli/args.h"
#include "app/cli/command.h"
#include "engine/core/error.h"
#include "engine/io/checkpoint_loader.h"
#include "engine/io/checkpoint_saver.h"
#include "engine/io/model_location.h"
#include "engine/models/config.h"

namespace bb::cli {
namespace {

const char* kUsage = R"(usage: bigbird convert IN OUT [--config FILE] [--dtype keep|f32|f16|bf16] [--tokenizer FILE[,FILE...]]

Reads a checkpoint in any supported format and writes OUT/model.safetensors, OUT/config.json and
the tokenizer files, each atomically (an interrupted conversion leaves earlier files intact).
  IN   a checkpoint file (.safetensors, PyTorch .bin/.pt zip or legacy, *.index.json), a model
       directory, a TensorFlow checkpoint (prefix such as model.ckpt-300000, its directory or a
       SavedModel), or ORG/NAME[@REV] in the Hugging Face cache
  OUT  the output directory (created if needed)
  --config FILE    the model's config.json (needed for original TF checkpoints, which have none)
  --dtype          keep (default: each tensor's stored type: F32, F16 or BF16), f32, f16 or bf16
  --tokenizer      extra tokenizer files to copy (those next to IN are copied already)
Original TF names are mapped to HF names (transposed kernels, 3-D attention kernels, optimizer
slots dropped); tied weights are stored once, as transformers does.)";

int run_convert(const std::vector<std::string>& argv) {
  Args args(argv, {"config", "dtype", "tokenizer"});
  if (args.positional().size() != 2) throw Error("convert needs IN and OUT (see bigbird convert --help)");
  const std::string in = args.positional()[0], out = args.positional()[1];
  const io::ModelLocation loc = io::locate_model(in);
  const std::string config_path = args.get_or("config", loc.config);
  if (config_path.empty())
    throw Error(in + ": no config.json next to the weights; pass --config FILE (original TensorFlow checkpoints have none)");
  const ModelConfig config = load_config(config_path);

  const io::LoadedCheckpoint loaded = io::load_checkpoint_with_report(in, config);
  io::SaveOptions opt;
  const std::string dtype = args.get_or("dtype", "keep");
  if (dtype == "keep") opt.dtypes = loaded.report.stored_dtype;
  else if (dtype == "f32") opt.dtype = io::DType::F32;
  else if (dtype == "f16") opt.dtype = io::DType::F16;
  else if (dtype == "bf16") opt.dtype = io::DType::BF16;
  else throw Error("--dtype must be keep, f32, f16 or bf16, not '" + dtype + "'");
  opt.copy_files = loc.tokenizer_files;
  for (const std::string& t : args.get_list("tokenizer", {})) opt.copy_files.push_back(t);

  const io::SaveResult saved = io::save_pretrained(out, config, loaded.params, opt);
  const io::LoadReport& r = loaded.report;
  std::fprintf(stderr, "read %s (%s): %zu parameter tensors", loc.weights.c_str(), r.format.c_str(), loaded.params.size());
  if (!r.renamed.empty() && r.format.find("tensorflow") != std::string::npos) std::fprintf(stderr, ", %zu renamed from TF", r.renamed.size());
  if (!r.skipped.empty()) std::fprintf(stderr, ", %zu skipped (buffers, optimizer slots)", r.skipped.size());
  if (!r.unexpected.empty()) std::fprintf(stderr, ", %zu not used by %s", r.unexpected.size(), config.architectures.empty() ? "the config" : config.architectures[0].c_str());
  std::fprintf(stderr, "\nwrote %zu tensors%s\n", saved.tensors,
               saved.omitted_tied.empty() ? "" : (" (" + std::to_string(saved.omitted_tied.size()) + " tied copies omitted)").c_str());
  for (const std::string& f : saved.written) std::printf("%s\n", f.c_str());
  return 0;
}

const Registrar reg{{"convert", "Convert a checkpoint (PyTorch, TensorFlow, safetensors) into an HF model directory", kUsage, run_convert}};

}  // namespace
}  // namespace bb::cli
