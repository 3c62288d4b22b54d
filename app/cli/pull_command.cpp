// bigbird pull: download a model from the Hugging Face Hub into the standard HF cache.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "app/cli/args.h"
#include "app/cli/command.h"
#include "engine/core/error.h"
#include "engine/io/hf_cache.h"
#include "engine/io/hub_client.h"

namespace bb::cli {
namespace {

const char* kUsage = R"(usage: bigbird pull ORG/NAME[@REVISION] [--cache DIR] [--timeout SECONDS] [--file A[,B...]]

Downloads config.json, the weights (model.safetensors, its shards, or pytorch_model.bin) and the
tokenizer files of a model repo into the Hugging Face cache, where transformers and the other
bigbird commands find them (e.g. bigbird forward --model ORG/NAME). Interrupted downloads resume
where they stopped; every file is checked against its size and sha256 (LFS) or git hash.
  --cache DIR        cache root (default $HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub)
  --timeout SECONDS  connect / read timeout (default 30)
  --file A[,B...]    fetch only these files
Environment: HF_ENDPOINT (mirror or local server), HF_TOKEN (private or gated repos; else the token
file $HF_HOME/token, as written by huggingface-cli login).
Prints the snapshot directory on stdout; progress goes to stderr.)";

std::string human(uint64_t bytes) {
  char buf[32];
  if (bytes >= (uint64_t(1) << 30)) std::snprintf(buf, sizeof buf, "%.2f GB", double(bytes) / double(1 << 30));
  else if (bytes >= (uint64_t(1) << 20)) std::snprintf(buf, sizeof buf, "%.1f MB", double(bytes) / double(1 << 20));
  else if (bytes >= 1024) std::snprintf(buf, sizeof buf, "%.1f kB", double(bytes) / 1024.0);
  else std::snprintf(buf, sizeof buf, "%llu B", (unsigned long long)bytes);
  return buf;
}

int run_pull(const std::vector<std::string>& argv) {
  Args args(argv, {"cache", "timeout", "file"});
  if (args.positional().size() != 1) throw Error("pull needs exactly one ORG/NAME[@REVISION] (see bigbird pull --help)");
  const auto ref = io::parse_repo_ref(args.positional()[0]);
  if (!ref) throw Error(args.positional()[0] + ": not a repo id (expected ORG/NAME or ORG/NAME@REVISION)");

  io::HubOptions opt;
  opt.cache_dir = args.get_or("cache", "");
  opt.timeout_seconds = args.get_int("timeout", 30);
  if (opt.timeout_seconds <= 0) throw Error("--timeout must be a positive number of seconds");
  opt.files = args.get_list("file", {});
  const bool tty = ::isatty(STDERR_FILENO);
  auto last = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  opt.progress = [&](const io::DownloadProgress& p) {
    const auto now = std::chrono::steady_clock::now();
    if (!p.finished && now - last < std::chrono::milliseconds(tty ? 100 : 2000)) return;
    last = now;
    const int pct = p.total ? int(100.0 * double(p.done) / double(p.total)) : 100;
    std::fprintf(stderr, "%s%-32s %10s / %-10s %3d%%%s", tty ? "\r" : "", p.file.c_str(), human(p.done).c_str(),
                 human(p.total).c_str(), pct, (p.finished || !tty) ? "\n" : "");
    std::fflush(stderr);
  };
  const io::PullResult r = io::hub_pull(*ref, opt);
  std::fprintf(stderr, "%zu files (%llu already cached), %s downloaded, commit %s\n", r.files.size(),
               (unsigned long long)r.reused_files, human(r.downloaded_bytes).c_str(), r.commit.c_str());
  std::printf("%s\n", r.snapshot_dir.c_str());
  return 0;
}

const Registrar reg{{"pull", "Download a model from the Hugging Face Hub into the HF cache", kUsage, run_pull}};

}  // namespace
}  // namespace bb::cli
