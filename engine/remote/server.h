#pragma once
// The remote runner's HTTP/JSON server (protocol: docs/remote-protocol.md). Every request needs
// `Authorization: Bearer <token>` (compared in constant time; 401 otherwise; the token is never
// logged); requests are rate-limited per client address (429) and size-limited (413). It listens
// on loopback unless TLS is configured or `insecure` is set explicitly. Jobs run in worker
// processes (job_runner.h); their state and events live on disk (job_store.h).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "engine/remote/worker_command.h"

namespace bb::remote {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8750;  // 0 = any free port (see Server::port())
  std::string token;
  std::string state_dir;    // jobs/ and uploads/
  std::string models_dir;   // optional: model directories offered as models/<name>
  std::string tls_cert, tls_key;
  bool insecure = false;    // allow plain HTTP on a non-loopback address
  WorkerSetup worker;
  int max_jobs = 1;
  int http_threads = 16;
  uint64_t max_upload_bytes = uint64_t(16) << 30;  // per file
  uint64_t max_request_bytes = uint64_t(16) << 20; // per request body (an upload chunk, a job spec)
  double rate_per_s = 50, rate_burst = 200;         // per client address; rate 0 = unlimited
  std::function<void(const std::string&)> log;      // one access-log line per request
};

bool is_loopback_host(const std::string& host);

class Server {
 public:
  // Validates the options (token, TLS files, the loopback rule); throws bb::Error.
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void start();  // binds and serves on a background thread; throws bb::Error if it cannot bind
  void stop();   // stops serving; running jobs are failed ("the server stopped"), queued ones kept
  void wait();   // blocks until stop() (from another thread or a signal handler's flag)
  int port() const;
  std::string url() const;  // http(s)://host:port
  int peak_running_jobs() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bb::remote
