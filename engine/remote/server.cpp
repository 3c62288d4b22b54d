#include "engine/remote/server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "engine/core/error.h"
#include "engine/remote/job_runner.h"
#include "engine/remote/job_store.h"
#include "engine/remote/rate_limiter.h"
#include "engine/remote/upload_store.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace bb::remote {

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

namespace {

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n", "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message) { send_json(res, status, {{"error", message}}); }

uint64_t parse_u64(const std::string& s, const std::string& what) {
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos)
    throw UploadError(400, what + " must be a non-negative integer");
  return std::stoull(s);
}

std::string status_text(int status) {
  switch (status) {
    case 400: return "bad request";
    case 404: return "not found";
    case 405: return "method not allowed";
    case 413: return "request too large (see the server's limits in /v1/health)";
    case 414: return "request URI too long";
    default: return "HTTP error " + std::to_string(status);
  }
}

bool is_sha256_hex(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// Debian's cpp-httplib 0.11 listens with a backlog of 5, so a burst of clients overflows the
// accept queue and the kernel drops their handshakes (clients then see resets). listen() again on
// the bound socket widens the queue.
template <class Base>
class WideBacklogServer : public Base {
 public:
  using Base::Base;
  void widen_backlog(int n) { ::listen(this->svr_sock_, n); }
};

// State shared with a streaming response (it may outlive the handler call).
struct EventStream {
  std::string id, path;
  uint64_t pos = 0;
  bool follow = true;
  std::chrono::steady_clock::time_point last_write = std::chrono::steady_clock::now();
};

}  // namespace

struct Server::Impl {
  ServerOptions opt;
  std::unique_ptr<httplib::Server> http;
  std::function<void()> widen_backlog;
  std::unique_ptr<JobStore> jobs;
  std::unique_ptr<UploadStore> uploads;
  std::unique_ptr<JobRunner> runner;
  std::unique_ptr<RateLimiter> limiter;
  std::thread listener;
  std::atomic<bool> stopping{false};
  std::mutex stop_mu;
  std::condition_variable stopped_cv;
  bool stopped = false;
  int bound_port = 0;

  void routes();
  void handle_events(const httplib::Request& req, httplib::Response& res);
  void handle_artifact(const httplib::Request& req, httplib::Response& res);
  std::optional<JobRecord> job_or_404(const std::string& id, httplib::Response& res) const;
  json job_json(const JobRecord& r) const;
};

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.opt = std::move(options);
  if (s.opt.token.size() < 16) throw Error("the runner token must be at least 16 characters (see --token-file)");
  if (s.opt.state_dir.empty()) throw Error("the runner needs a state directory (--state)");
  const bool tls = !s.opt.tls_cert.empty() || !s.opt.tls_key.empty();
  if (tls && (s.opt.tls_cert.empty() || s.opt.tls_key.empty())) throw Error("TLS needs both --tls-cert and --tls-key");
  if (!tls && !is_loopback_host(s.opt.host) && !s.opt.insecure)
    throw Error("refusing to listen on " + s.opt.host +
                " without TLS: give --tls-cert and --tls-key, or --insecure to serve plain HTTP on the network");
  if (tls) {
    for (const std::string& f : {s.opt.tls_cert, s.opt.tls_key})
      if (!fs::is_regular_file(f)) throw Error(f + ": TLS file not found");
    auto tls_server = std::make_unique<WideBacklogServer<httplib::SSLServer>>(s.opt.tls_cert.c_str(), s.opt.tls_key.c_str());
    if (!tls_server->is_valid()) throw Error(s.opt.tls_cert + ": cannot load the TLS certificate and key " + s.opt.tls_key);
    s.widen_backlog = [p = tls_server.get()] { p->widen_backlog(SOMAXCONN); };
    s.http = std::move(tls_server);
  } else {
    auto plain = std::make_unique<WideBacklogServer<httplib::Server>>();
    s.widen_backlog = [p = plain.get()] { p->widen_backlog(SOMAXCONN); };
    s.http = std::move(plain);
  }
  s.jobs = std::make_unique<JobStore>(s.opt.state_dir);
  s.uploads = std::make_unique<UploadStore>(s.opt.state_dir + "/uploads", s.opt.max_upload_bytes);
  s.runner = std::make_unique<JobRunner>(*s.jobs, *s.uploads, RunnerOptions{s.opt.worker, s.opt.max_jobs, s.opt.models_dir});
  s.limiter = std::make_unique<RateLimiter>(s.opt.rate_per_s, s.opt.rate_burst);
  s.routes();
}

Server::~Server() { stop(); }

void Server::start() {
  Impl& s = *impl_;
  std::signal(SIGPIPE, SIG_IGN);  // a client that hangs up must not kill the server
  s.bound_port = s.opt.port == 0 ? s.http->bind_to_any_port(s.opt.host) : (s.http->bind_to_port(s.opt.host, s.opt.port) ? s.opt.port : -1);
  if (s.bound_port <= 0) throw Error("cannot listen on " + s.opt.host + ":" + std::to_string(s.opt.port) + " (in use or not a local address)");
  s.widen_backlog();
  s.runner->start();
  s.listener = std::thread([&s] { s.http->listen_after_bind(); });
}

void Server::stop() {
  Impl& s = *impl_;
  if (s.stopping.exchange(true)) return;
  s.http->stop();
  if (s.listener.joinable()) s.listener.join();
  s.runner->stop();
  {
    std::lock_guard lock(s.stop_mu);
    s.stopped = true;
  }
  s.stopped_cv.notify_all();
}

void Server::wait() {
  std::unique_lock lock(impl_->stop_mu);
  impl_->stopped_cv.wait(lock, [&] { return impl_->stopped; });
}

int Server::port() const { return impl_->bound_port; }

std::string Server::url() const {
  const bool tls = !impl_->opt.tls_cert.empty();
  const std::string host = impl_->opt.host.find(':') != std::string::npos ? "[" + impl_->opt.host + "]" : impl_->opt.host;
  return std::string(tls ? "https://" : "http://") + host + ":" + std::to_string(impl_->bound_port);
}

int Server::peak_running_jobs() const { return impl_->runner->peak_running(); }

std::optional<JobRecord> Server::Impl::job_or_404(const std::string& id, httplib::Response& res) const {
  auto r = JobStore::valid_id(id) ? jobs->get(id) : std::nullopt;
  if (!r) send_error(res, 404, "no job '" + id + "'");
  return r;
}

json Server::Impl::job_json(const JobRecord& r) const {
  json j = r.to_json();
  j["events_size"] = jobs->events_size(r.id);
  return j;
}

void Server::Impl::routes() {
  httplib::Server& h = *http;
  h.new_task_queue = [n = opt.http_threads] { return new httplib::ThreadPool(size_t(std::max(2, n))); };
  h.set_payload_max_length(opt.max_request_bytes);
  h.set_keep_alive_timeout(2);
  h.set_read_timeout(30);
  h.set_write_timeout(30);

  h.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!limiter->allow(req.remote_addr)) {
      res.set_header("Retry-After", "1");
      send_error(res, 429, "too many requests from " + req.remote_addr + "; slow down");
      return httplib::Server::HandlerResponse::Handled;
    }
    const std::string auth = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    const bool ok = auth.size() > prefix.size() && auth.compare(0, prefix.size(), prefix) == 0 &&
                    constant_time_equal(std::string_view(auth).substr(prefix.size()), opt.token);
    if (!ok) {
      res.set_header("WWW-Authenticate", "Bearer realm=\"bigbird-runner\"");
      send_error(res, 401, "unauthorized: missing or wrong token");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  h.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty() || res.is_chunked_content_provider_) return httplib::Server::HandlerResponse::Unhandled;
    send_json(res, res.status, {{"error", status_text(res.status)}});
    return httplib::Server::HandlerResponse::Handled;
  }));
  h.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    try {
      std::rethrow_exception(ep);
    } catch (const UploadError& e) {
      send_error(res, e.status, e.what());
    } catch (const bb::Error& e) {
      send_error(res, 400, e.what());
    } catch (const std::exception& e) {
      send_error(res, 500, std::string("internal error: ") + e.what());
    } catch (...) {
      send_error(res, 500, "internal error");
    }
  });
  if (opt.log)
    h.set_logger([log = opt.log](const httplib::Request& req, const httplib::Response& res) {
      log(req.remote_addr + " " + req.method + " " + req.path + " " + std::to_string(res.status));  // never headers
    });

  h.Get("/v1/health", [this](const httplib::Request&, httplib::Response& res) {
    json kinds = json::array();
    for (JobKind k : {JobKind::Summarize, JobKind::Forward, JobKind::Finetune, JobKind::Evaluate}) kinds.push_back(to_string(k));
    send_json(res, 200,
              {{"status", "ok"},
               {"server", "bigbird-runner"},
               {"version", BIGBIRD_VERSION},
               {"protocol", kProtocolVersion},
               {"backend", to_string(opt.worker.backend)},
               {"devices", json::array({{{"kind", opt.worker.backend == Backend::Tpu ? "tpu" : "cpu"},
                                         {"threads", std::thread::hardware_concurrency()}}})},
               {"models", runner->server_models()},
               {"job_kinds", kinds},
               {"jobs", {{"running", runner->running()}, {"max_concurrent", opt.max_jobs}}},
               {"limits",
                {{"max_upload_bytes", opt.max_upload_bytes},
                 {"max_request_bytes", opt.max_request_bytes},
                 {"rate_per_s", opt.rate_per_s},
                 {"rate_burst", opt.rate_burst}}}});
  });

  h.Get("/v1/uploads", [this](const httplib::Request&, httplib::Response& res) { send_json(res, 200, uploads->list()); });
  h.Get("/v1/uploads/(.+)", [this](const httplib::Request& req, httplib::Response& res) {
    send_json(res, 200, uploads->status(req.matches[1]));
  });
  h.Put("/v1/uploads/(.+)", [this](const httplib::Request& req, httplib::Response& res) {
    const uint64_t offset = parse_u64(req.has_param("offset") ? req.get_param_value("offset") : "0", "offset");
    try {
      const uint64_t received = uploads->append(req.matches[1], offset, req.body);
      send_json(res, 200, {{"name", req.matches[1].str()}, {"received", received}});
    } catch (const UploadError& e) {
      json body = {{"error", e.what()}};
      if (e.status == 409) body["received"] = uploads->status(req.matches[1])["received"];
      send_json(res, e.status, body);
    }
  });
  h.Post("/v1/uploads/(.+)", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string sha = req.get_param_value("sha256");
    if (!is_sha256_hex(sha)) throw UploadError(400, "sha256 must be 64 lowercase hex digits");
    const uint64_t size = parse_u64(req.get_param_value("size"), "size");
    send_json(res, 200, uploads->complete(req.matches[1], size, sha));
  });

  h.Get("/v1/jobs", [this](const httplib::Request&, httplib::Response& res) {
    json out = json::array();
    for (const JobRecord& r : jobs->list()) out.push_back(job_json(r));
    send_json(res, 200, out);
  });
  h.Post("/v1/jobs", [this](const httplib::Request& req, httplib::Response& res) {
    const json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded()) throw Error("job spec: the request body is not valid JSON");
    const JobSpec spec = JobSpec::from_json(body);
    // References are checked now so a typo is a 400, not a failed job later.
    if (spec.model.rfind("uploads/", 0) == 0) uploads->resolve(spec.model.substr(8));
    for (const auto& [role, ref] : spec.inputs) uploads->resolve(ref.substr(8));
    const JobRecord r = jobs->create(spec);
    runner->enqueue(r.id);
    send_json(res, 201, job_json(r));
  });
  h.Get("/v1/jobs/([^/]+)", [this](const httplib::Request& req, httplib::Response& res) {
    if (auto r = job_or_404(req.matches[1], res)) send_json(res, 200, job_json(*r));
  });
  h.Post("/v1/jobs/([^/]+)/cancel", [this](const httplib::Request& req, httplib::Response& res) {
    auto r = job_or_404(req.matches[1], res);
    if (!r) return;
    if (is_terminal(r->state)) return send_error(res, 409, "job " + r->id + " already " + to_string(r->state));
    runner->cancel(r->id);
    send_json(res, 202, job_json(*jobs->get(r->id)));
  });
  h.Get("/v1/jobs/([^/]+)/events", [this](const httplib::Request& req, httplib::Response& res) { handle_events(req, res); });
  h.Get("/v1/jobs/([^/]+)/artifacts", [this](const httplib::Request& req, httplib::Response& res) {
    auto r = job_or_404(req.matches[1], res);
    if (!r) return;
    json out = json::array();
    const fs::path base = jobs->artifacts_dir(r->id);
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(base, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
      if (it->is_regular_file() && !it->is_symlink())
        out.push_back({{"path", fs::relative(it->path(), base).string()}, {"size", it->file_size()}});
    send_json(res, 200, out);
  });
  h.Get("/v1/jobs/([^/]+)/artifacts/(.+)", [this](const httplib::Request& req, httplib::Response& res) { handle_artifact(req, res); });
}

void Server::Impl::handle_events(const httplib::Request& req, httplib::Response& res) {
  auto r = job_or_404(req.matches[1], res);
  if (!r) return;
  auto st = std::make_shared<EventStream>();
  st->id = r->id;
  st->path = jobs->events_path(r->id);
  st->pos = parse_u64(req.has_param("offset") ? req.get_param_value("offset") : "0", "offset");
  st->follow = req.get_param_value("follow") != "0";
  const uint64_t size = jobs->events_size(r->id);
  if (st->pos > size) return send_error(res, 416, "offset " + std::to_string(st->pos) + " is past the end of the events (" + std::to_string(size) + " bytes)");
  if (st->pos > 0) {
    std::ifstream in(st->path, std::ios::binary);
    in.seekg(std::streamoff(st->pos - 1));
    if (in.get() != '\n') return send_error(res, 400, "offset " + std::to_string(st->pos) + " is not at the start of an event line");
  }
  res.set_header("X-Events-Offset", std::to_string(st->pos));
  res.set_chunked_content_provider("application/x-ndjson", [this, st](size_t, httplib::DataSink& sink) {
    if (stopping) return false;
    const uint64_t size = jobs->events_size(st->id);
    if (size > st->pos) {
      std::ifstream in(st->path, std::ios::binary);
      in.seekg(std::streamoff(st->pos));
      std::string buf(size_t(std::min<uint64_t>(size - st->pos, 16 << 20)), '\0');  // > the longest event line
      in.read(buf.data(), std::streamsize(buf.size()));
      buf.resize(size_t(in.gcount()));
      const size_t end = buf.rfind('\n');  // whole lines only
      if (end == std::string::npos) return true;
      buf.resize(end + 1);
      if (!sink.write(buf.data(), buf.size())) return false;
      st->pos += buf.size();
      st->last_write = std::chrono::steady_clock::now();
      return true;
    }
    const auto rec = jobs->get(st->id);
    if (!st->follow || !rec || is_terminal(rec->state)) {
      if (jobs->events_size(st->id) > st->pos) return true;  // the final events arrived meanwhile
      sink.done();
      return true;
    }
    jobs->wait_for_events(st->id, st->pos, 250);
    if (std::chrono::steady_clock::now() - st->last_write > std::chrono::seconds(10)) {
      // An empty line keeps proxies and tunnels from closing an idle stream; clients skip it.
      if (!sink.write("\n", 1)) return false;
      st->last_write = std::chrono::steady_clock::now();
    }
    return true;
  });
}

void Server::Impl::handle_artifact(const httplib::Request& req, httplib::Response& res) {
  auto r = job_or_404(req.matches[1], res);
  if (!r) return;
  const std::string rel = req.matches[2];
  if (const std::string p = relative_path_problem(rel); !p.empty()) return send_error(res, 400, "artifact '" + rel + "': " + p);
  const fs::path base = fs::weakly_canonical(jobs->artifacts_dir(r->id));
  std::error_code ec;
  const fs::path file = fs::weakly_canonical(base / rel, ec);
  // A worker could have left a symlink; only regular files inside the job's own directory are served.
  const auto [b, f] = std::mismatch(base.begin(), base.end(), file.begin(), file.end());
  if (ec || b != base.end() || fs::is_symlink(base / rel) || !fs::is_regular_file(file))
    return send_error(res, 404, "job " + r->id + " has no artifact '" + rel + "'");
  const uint64_t size = fs::file_size(file);
  auto in = std::make_shared<std::ifstream>(file, std::ios::binary);
  if (!*in) return send_error(res, 500, "cannot read artifact '" + rel + "'");
  res.set_content_provider(size_t(size), "application/octet-stream", [in](size_t offset, size_t length, httplib::DataSink& sink) {
    std::vector<char> buf(std::min<size_t>(length, 1 << 20));
    in->seekg(std::streamoff(offset));
    in->read(buf.data(), std::streamsize(buf.size()));
    const std::streamsize n = in->gcount();
    if (n <= 0) return false;
    return sink.write(buf.data(), size_t(n));
  });
}

}  // namespace bb::remote
