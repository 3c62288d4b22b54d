#pragma once
// A real runner on loopback (engine/remote/server.h, workers = the real bigbird binary) and a real
// client, in temp directories, for the remote runner tests.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "engine/remote/client.h"
#include "engine/remote/server.h"

namespace bbtest {

inline const std::string kToken = "remote-test-token-0123456789abcdef";

struct RemoteTemp {
  std::string path;
  explicit RemoteTemp(const std::string& tag) {
    path = (std::filesystem::temp_directory_path() / ("bb-remote-" + tag + "-" + std::to_string(::getpid()))).string();
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~RemoteTemp() {
    std::error_code ec;
    if (!std::getenv("BB_KEEP_TEST_DIRS")) std::filesystem::remove_all(path, ec);
  }
  std::string write(const std::string& name, const std::string& content) const {
    const std::string p = path + "/" + name;
    std::filesystem::create_directories(std::filesystem::path(p).parent_path());
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
};

inline bb::remote::ServerOptions runner_options(const std::string& state_dir) {
  bb::remote::ServerOptions o;
  o.port = 0;
  o.token = kToken;
  o.state_dir = state_dir;
  o.worker.bigbird_executable = BIGBIRD_CLI;
  o.rate_per_s = 0;  // tests that need the limiter set it
  return o;
}

inline std::unique_ptr<bb::remote::Server> start_runner(const bb::remote::ServerOptions& o) {
  auto s = std::make_unique<bb::remote::Server>(o);
  s->start();
  return s;
}

inline bb::remote::Client client_for(const bb::remote::Server& s, const std::string& token = kToken) {
  bb::remote::ClientOptions o;
  o.url = s.url();
  o.token = token;
  o.reconnect_delay_ms = 50;
  return bb::remote::Client(o);
}

// Follows a job's events to the end; returns them.
inline std::vector<nlohmann::json> all_events(bb::remote::Client& c, const std::string& id) {
  std::vector<nlohmann::json> out;
  c.events(id, 0, [&](const nlohmann::json& e) {
    out.push_back(e);
    return true;
  });
  return out;
}

inline std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline nlohmann::json wait_for_state(bb::remote::Client& c, const std::string& id, const std::string& state, double timeout_s = 60) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  nlohmann::json j;
  while (std::chrono::steady_clock::now() < end) {
    j = c.job(id);
    if (j["state"] == state) return j;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return j;
}

}  // namespace bbtest
