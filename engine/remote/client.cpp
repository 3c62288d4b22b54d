#include "engine/remote/client.h"

#include <httplib.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "engine/io/atomic_file.h"
#include "engine/io/digest.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace bb::remote {

namespace {

std::unique_ptr<httplib::Client> connect(const ClientOptions& o) {
  auto c = std::make_unique<httplib::Client>(o.url);
  if (!c->is_valid()) throw Error("runner URL '" + o.url + "' is not valid (http://host:port or https://host:port)");
  c->set_connection_timeout(o.timeout_s, 0);
  c->set_read_timeout(o.timeout_s, 0);
  c->set_write_timeout(o.timeout_s, 0);
  if (!o.ca_cert.empty()) c->set_ca_cert_path(o.ca_cert.c_str());
  c->enable_server_certificate_verification(true);
  c->set_default_headers({{"Authorization", "Bearer " + o.token}, {"User-Agent", "bigbird-studio/" BIGBIRD_VERSION}});
  return c;
}

[[noreturn]] void fail_transport(const ClientOptions& o, const std::string& what, httplib::Error e) {
  throw Error(o.url + ": " + what + ": " + httplib::to_string(e) +
              (e == httplib::Error::Connection ? " (is the runner running? is the tunnel open?)" : ""));
}

[[noreturn]] void fail_status(const ClientOptions& o, const std::string& what, int status, const std::string& body) {
  std::string msg;
  const json j = json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_string()) msg = j["error"].get<std::string>();
  if (status == 401) msg = "unauthorized (missing or wrong token)";
  throw RemoteError(status, o.url + ": " + what + ": HTTP " + std::to_string(status) + (msg.empty() ? "" : ": " + msg));
}

}  // namespace

Client::Client(ClientOptions options) : options_(std::move(options)) {
  std::signal(SIGPIPE, SIG_IGN);  // a runner that goes away mid-request is an error, not a crash
  while (!options_.url.empty() && options_.url.back() == '/') options_.url.pop_back();
  if (options_.url.rfind("http://", 0) != 0 && options_.url.rfind("https://", 0) != 0)
    throw Error("runner URL '" + options_.url + "' must start with http:// or https://");
  if (options_.token.empty()) throw Error("no token for the runner " + options_.url);
}

json Client::request(const std::string& method, const std::string& path, const std::string& body,
                     const std::string& content_type, bool idempotent) {
  const std::string what = method + " " + path.substr(0, path.find('?'));
  // A request that may safely be sent twice is retried after a transport failure (a reset
  // connection, a restarting runner); answers from the server are never retried.
  const int attempts = idempotent ? 4 : 1;
  for (int attempt = 1;; ++attempt) {
    auto c = connect(options_);
    httplib::Result r = method == "GET"    ? c->Get(path)
                        : method == "PUT"  ? c->Put(path, body, content_type)
                                           : c->Post(path, body, content_type);
    if (!r) {
      if (attempt < attempts) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100 * attempt));
        continue;
      }
      fail_transport(options_, what, r.error());
    }
    if (r->status >= 400) fail_status(options_, what, r->status, r->body);
    const json j = json::parse(r->body, nullptr, false);
    if (j.is_discarded()) throw Error(options_.url + ": " + what + ": the answer is not JSON (is this a BigBird runner?)");
    return j;
  }
}

json Client::health() {
  json h = request("GET", "/v1/health");
  if (!h.contains("protocol") || h["protocol"] != 1)
    throw Error(options_.url + ": unsupported runner protocol " + h.value("protocol", json()).dump() + " (this client speaks 1)");
  return h;
}

json Client::upload(const std::string& local_path, const std::string& remote_name,
                    const std::function<void(uint64_t, uint64_t)>& progress) {
  std::error_code ec;
  if (!fs::is_regular_file(local_path, ec)) throw Error(local_path + ": not a file");
  const uint64_t size = fs::file_size(local_path, ec);
  const std::string sha = io::file_sha256(local_path);
  const std::string path = "/v1/uploads/" + remote_name;
  json st = request("GET", path);
  if (st.value("complete", false) && st.value("size", uint64_t(0)) == size && st.value("sha256", "") == sha &&
      st.value("received", uint64_t(0)) == 0)
    return st;  // already there
  uint64_t offset = st.value("received", uint64_t(0));
  if (offset > size) throw Error(remote_name + ": the server holds a longer partial upload than " + local_path);
  std::ifstream in(local_path, std::ios::binary);
  std::string chunk;
  while (offset < size || size == 0) {
    chunk.resize(size_t(std::min<uint64_t>(options_.chunk_bytes, size - offset)));
    in.seekg(std::streamoff(offset));
    in.read(chunk.data(), std::streamsize(chunk.size()));
    if (uint64_t(in.gcount()) != chunk.size()) throw Error(local_path + ": cannot read (changed while uploading?)");
    try {
      offset = request("PUT", path + "?offset=" + std::to_string(offset), chunk, "application/octet-stream")["received"];
    } catch (const RemoteError& e) {
      if (e.status != 409) throw;
      offset = request("GET", path).value("received", uint64_t(0));  // resume where the server is
    }
    if (progress) progress(offset, size);
    if (size == 0) break;
  }
  return request("POST", path + "?size=" + std::to_string(size) + "&sha256=" + sha);
}

json Client::submit(const json& spec) { return request("POST", "/v1/jobs", spec.dump(), "application/json", false); }
json Client::job(const std::string& id) { return request("GET", "/v1/jobs/" + id); }
json Client::jobs() { return request("GET", "/v1/jobs"); }
json Client::cancel(const std::string& id) { return request("POST", "/v1/jobs/" + id + "/cancel"); }
json Client::artifacts(const std::string& id) { return request("GET", "/v1/jobs/" + id + "/artifacts"); }

void Client::fetch(const std::string& id, const std::string& artifact, const std::string& local_path) {
  const std::string path = "/v1/jobs/" + id + "/artifacts/" + artifact;
  std::error_code ec;
  if (fs::path(local_path).has_parent_path()) fs::create_directories(fs::path(local_path).parent_path(), ec);
  for (int attempt = 1;; ++attempt) {
    auto c = connect(options_);
    io::AtomicFileWriter out(local_path);  // a failed attempt leaves nothing behind
    uint64_t received = 0, expected = 0;
    int status = 0;
    std::string error_body;
    httplib::Result r = c->Get(
        path,
        [&](const httplib::Response& resp) {
          status = resp.status;
          const std::string length = resp.get_header_value("Content-Length");
          expected = length.empty() ? 0 : std::strtoull(length.c_str(), nullptr, 10);
          return true;
        },
        [&](const char* data, size_t n) {
          if (status >= 400) {
            error_body.append(data, n);
            return true;
          }
          out.write({reinterpret_cast<const uint8_t*>(data), n});
          received += n;
          return true;
        });
    if (!r && attempt < 4) {  // a dropped download starts again
      std::this_thread::sleep_for(std::chrono::milliseconds(100 * attempt));
      continue;
    }
    if (!r) fail_transport(options_, "GET " + path, r.error());
    if (status >= 400) fail_status(options_, "GET " + path, status, error_body);
    if (received != expected)
      throw Error(options_.url + ": " + artifact + ": " + std::to_string(received) + " of " + std::to_string(expected) + " bytes received");
    out.commit();
    return;
  }
}

uint64_t Client::events(const std::string& id, uint64_t offset, const std::function<bool(const json&)>& on_event, bool follow) {
  int failures = 0;
  while (true) {
    auto c = connect(options_);
    std::string pending;
    bool stop = false, got_data = false, malformed = false;
    int status = 0;
    std::string error_body;
    const std::string path = "/v1/jobs/" + id + "/events?offset=" + std::to_string(offset) + (follow ? "" : "&follow=0");
    httplib::Result r = c->Get(
        path,
        [&](const httplib::Response& resp) {
          status = resp.status;
          return true;
        },
        [&](const char* data, size_t n) {
          if (status >= 400) {
            error_body.append(data, n);
            return true;
          }
          got_data = true;
          pending.append(data, n);
          size_t start = 0;
          for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
            const std::string line = pending.substr(start, nl - start);
            if (line.empty()) continue;  // heartbeat, not part of the event log
            const json e = json::parse(line, nullptr, false);
            if (e.is_discarded()) {
              malformed = stop = true;
              return false;
            }
            offset += line.size() + 1;
            if (!on_event(e)) {
              stop = true;
              return false;
            }
          }
          pending.erase(0, start);
          return true;
        });
    if (malformed) throw Error(options_.url + ": job " + id + ": malformed event line at offset " + std::to_string(offset));
    if (stop) return offset;
    if (r && status >= 400) fail_status(options_, "GET /v1/jobs/" + id + "/events", status, error_body);
    if (r && status == 200) return offset;  // the server ended the stream: the job is over (or !follow)
    // A dropped connection (or a restarting server): resume at the last complete event.
    if (got_data) failures = 0;
    if (++failures > options_.reconnect_attempts)
      fail_transport(options_, "event stream of job " + id + " (gave up reconnecting)", r ? httplib::Error::Read : r.error());
    ++reconnects_;
    std::this_thread::sleep_for(std::chrono::milliseconds(options_.reconnect_delay_ms));
  }
}

}  // namespace bb::remote
