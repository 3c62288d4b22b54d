// bigbird serve: the remote runner (engine/remote/server.h): an HTTP/JSON job server that runs
// summarize / forward / finetune jobs for remote clients in worker processes (this binary).
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "app/cli/args.h"
#include "app/cli/command.h"
#include "app/cli/subprocess.h"
#include "engine/core/error.h"
#include "engine/core/xdg_dirs.h"
#include "engine/remote/server.h"
#include "engine/remote/token_file.h"

namespace bb::cli {
namespace {

const char* kUsage = R"(usage: bigbird serve --token-file F [options]

Runs the remote runner: clients (`bigbird remote`, the desktop app) upload documents, datasets and
models, submit summarize / forward / finetune jobs, follow their events and fetch the artifacts.
Every request needs the token (Authorization: Bearer); a missing token file is created (0600).
Protocol: docs/remote-protocol.md. TPU VMs: docs/remote-tpu.md.

  --listen HOST:PORT     address (default 127.0.0.1:8750; port 0 = any free port). A non-loopback
                         address needs --tls-cert/--tls-key, or --insecure to accept plain HTTP
  --token-file F         the shared secret (one line, at least 16 characters, mode 0600)
  --state DIR            jobs and uploads (default ~/.local/share/bigbird-studio/runner, $XDG_DATA_HOME respected)
  --models DIR           model directories offered to clients as models/<name>
  --tls-cert PEM --tls-key PEM   serve HTTPS
  --insecure             allow plain HTTP on a non-loopback address
  --backend local|tpu    local: this engine in worker processes (default); tpu: packaging/tpu worker (JAX/Flax or TF)
  --tpu-worker PATH      the TPU worker script (default: packaging/tpu/bigbird_tpu_worker.py of this source tree)
  --python PATH          the Python of the TPU worker (default python3)
  --max-jobs N           jobs running at once (default 1)
  --max-upload-mb N      largest uploaded file (default 16384)
  --rate-limit N         requests per second per client address (default 50; 0 = unlimited)
  --quiet                no access log on stderr)";

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

std::string default_state_dir() { return xdg::app_data_dir() + "/runner"; }

void parse_listen(const std::string& s, std::string& host, int& port) {
  const size_t colon = s.rfind(':');
  if (colon == std::string::npos) throw Error("--listen expects HOST:PORT, got '" + s + "'");
  host = s.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) throw Error("--listen needs a host (127.0.0.1 for this machine only)");
  const std::string p = s.substr(colon + 1);
  char* end = nullptr;
  const long v = std::strtol(p.c_str(), &end, 10);
  if (p.empty() || *end || v < 0 || v > 65535) throw Error("--listen: bad port '" + p + "'");
  port = int(v);
}

int run_serve(const std::vector<std::string>& argv) {
  Args args(argv,
            {"listen", "token-file", "state", "models", "tls-cert", "tls-key", "backend", "tpu-worker", "python", "max-jobs",
             "max-upload-mb", "rate-limit"},
            {"insecure", "quiet"});
  if (!args.positional().empty()) throw Error("unexpected argument '" + args.positional().front() + "' (see --help)");
  remote::ServerOptions o;
  parse_listen(args.get_or("listen", "127.0.0.1:8750"), o.host, o.port);
  const std::string token_file = args.require("token-file");
  if (!std::filesystem::exists(token_file)) {
    o.token = remote::create_token_file(token_file);
    std::fprintf(stderr, "bigbird serve: created a new token in %s (give it to clients)\n", token_file.c_str());
  } else {
    o.token = remote::read_token_file(token_file);
  }
  o.state_dir = args.get_or("state", default_state_dir());
  o.models_dir = args.get_or("models", "");
  o.tls_cert = args.get_or("tls-cert", "");
  o.tls_key = args.get_or("tls-key", "");
  o.insecure = args.has("insecure");
  o.worker.backend = remote::parse_backend(args.get_or("backend", "local"));
  o.worker.bigbird_executable = self_executable();
  o.worker.tpu_worker = args.get_or("tpu-worker", std::string(BIGBIRD_SOURCE_DIR) + "/packaging/tpu/bigbird_tpu_worker.py");
  o.worker.python = args.get_or("python", "python3");
  o.max_jobs = args.get_int("max-jobs", 1);
  const int upload_mb = args.get_int("max-upload-mb", 16384);
  if (upload_mb < 1) throw Error("--max-upload-mb must be at least 1");
  o.max_upload_bytes = uint64_t(upload_mb) << 20;
  o.rate_per_s = args.get_int("rate-limit", 50);
  if (o.rate_per_s < 0) throw Error("--rate-limit must not be negative");
  o.rate_burst = std::max(20.0, 4 * o.rate_per_s);
  if (!args.has("quiet")) o.log = [](const std::string& line) { std::fprintf(stderr, "bigbird serve: %s\n", line.c_str()); };

  remote::Server server(o);
  server.start();
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::printf("bigbird serve: listening on %s (state %s, backend %s)\n", server.url().c_str(), o.state_dir.c_str(),
              remote::to_string(o.worker.backend).c_str());
  std::fflush(stdout);
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::fprintf(stderr, "bigbird serve: stopping\n");
  server.stop();
  return 0;
}

const Registrar reg{{"serve", "Run the remote job runner (HTTP/JSON, token auth, TLS; docs/remote-protocol.md)", kUsage, run_serve}};

}  // namespace
}  // namespace bb::cli
