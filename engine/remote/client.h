#pragma once
// The remote runner's client (used by `bigbird remote` and the GUI): uploads that resume where
// the server's copy ends and are sha256-verified, job submission and status, an event stream that
// reconnects after a dropped connection and resumes at the last complete event (byte offsets),
// cancel, and artifact downloads (atomic, size-checked). Errors are bb::Error with one line.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/core/error.h"

namespace bb::remote {

// A refusal by the server (HTTP status >= 400), e.g. 401 for a wrong token or 413 for a too large upload.
class RemoteError : public Error {
 public:
  RemoteError(int status, const std::string& message) : Error(message), status(status) {}
  int status;
};

struct ClientOptions {
  std::string url;      // http://127.0.0.1:8750 or https://host:port
  std::string token;
  std::string ca_cert;  // PEM file to trust (a self-signed runner); "" = the system's CAs
  int timeout_s = 30;
  int reconnect_attempts = 50;  // consecutive failed reconnects of an event stream before giving up
  int reconnect_delay_ms = 200;
  uint64_t chunk_bytes = uint64_t(8) << 20;
};

class Client {
 public:
  explicit Client(ClientOptions options);

  nlohmann::json health();
  nlohmann::json upload(const std::string& local_path, const std::string& remote_name,
                        const std::function<void(uint64_t done, uint64_t total)>& progress = {});
  nlohmann::json submit(const nlohmann::json& spec);
  nlohmann::json job(const std::string& id);
  nlohmann::json jobs();
  nlohmann::json cancel(const std::string& id);
  nlohmann::json artifacts(const std::string& id);
  void fetch(const std::string& id, const std::string& artifact, const std::string& local_path);

  // Streams the events of a job from byte `offset` until the job ends (follow) or the events so
  // far are sent (!follow), or on_event returns false. Returns the offset after the last event
  // handed to on_event: pass it back to resume.
  uint64_t events(const std::string& id, uint64_t offset, const std::function<bool(const nlohmann::json&)>& on_event,
                  bool follow = true);
  int reconnects() const { return reconnects_; }
  const ClientOptions& options() const { return options_; }

 private:
  // GET, PUT (uploads at an offset), completing an upload and cancel may be sent twice; submit not.
  nlohmann::json request(const std::string& method, const std::string& path, const std::string& body = "",
                         const std::string& content_type = "application/json", bool idempotent = true);
  ClientOptions options_;
  int reconnects_ = 0;
};

}  // namespace bb::remote
