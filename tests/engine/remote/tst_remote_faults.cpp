// Faults: a worker killed mid-job (the job fails with its log), a restarted server (jobs and
// artifacts still listed, a job it interrupted reported failed), a client whose connection drops
// mid-stream (it reconnects and resumes: every event exactly once), a cancelled job, and 50
// parallel clients (nothing lost, at most max_jobs workers at once).
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <mutex>

#include "engine/io/digest.h"
#include "tests/engine/remote/remote_test_util.h"
#include "tests/engine/train/finetune_test_util.h"

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// A runner with a tiny BigBird offered as models/tiny and a training set uploaded as uploads/train.csv.
struct Fixture {
  bbtest::RemoteTemp tmp;
  bb::remote::ServerOptions options;
  std::unique_ptr<bb::remote::Server> server;
  explicit Fixture(const std::string& tag, int max_jobs = 1) : tmp(tag) {
    bbtest::write_model_dir(tmp.path + "/models/tiny", bbtest::small_gpt2_vocab_config(), 7);
    options = bbtest::runner_options(tmp.path + "/state");
    options.models_dir = tmp.path + "/models";
    options.max_jobs = max_jobs;
    server = bbtest::start_runner(options);
    client().upload(tmp.write("train.csv", bbtest::synthetic_classification_csv(64, 1)), "train.csv");
  }
  bb::remote::Client client() { return bbtest::client_for(*server); }
  void restart() {
    server->stop();
    server.reset();
    options.port = 0;
    server = bbtest::start_runner(options);
  }
};

json long_finetune() {
  return {{"kind", "finetune"},
          {"model", "models/tiny"},
          {"inputs", {{"train", "uploads/train.csv"}}},
          {"params", {{"task", "cls"}, {"steps", 1000000}, {"batch-size", 2}, {"max-length", 16}, {"threads", 1}}}};
}

// Waits for the worker to start training; returns its pid (from the job's events).
int worker_pid(bb::remote::Client& c, const std::string& id) {
  int pid = 0;
  bool stepping = false;
  c.events(id, 0, [&](const json& e) {
    if (e.contains("pid")) pid = e["pid"];
    if (e["type"] == "metric") stepping = true;
    if (e["type"] == "state" && e["state"] != "queued" && e["state"] != "running") return false;
    return !(pid > 0 && stepping);
  });
  return pid;
}

TEST(RemoteFaults, KilledWorkerFailsTheJobWithItsLog) {
  Fixture f("kill");
  bb::remote::Client c = f.client();
  const std::string id = c.submit(long_finetune())["id"];
  const int pid = worker_pid(c, id);
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  const std::vector<json> events = bbtest::all_events(c, id);
  const json& last = events.back();
  EXPECT_EQ(last["state"], "failed");
  EXPECT_NE(last["error"].get<std::string>().find("killed by signal 9"), std::string::npos) << last.dump();
  const json job = c.job(id);
  EXPECT_EQ(job["state"], "failed");
  EXPECT_EQ(job["exit_code"], 128 + 9);
  bool tail = false;
  for (const json& e : events) tail = tail || (e["type"] == "log_tail" && !e["lines"].empty());
  EXPECT_TRUE(tail);
  c.fetch(id, "worker.log", f.tmp.path + "/worker.log");
  EXPECT_NE(bbtest::read_all(f.tmp.path + "/worker.log").find("step "), std::string::npos);
}

TEST(RemoteFaults, CancelStopsARunningJob) {
  Fixture f("cancel");
  bb::remote::Client c = f.client();
  const std::string id = c.submit(long_finetune())["id"];
  ASSERT_GT(worker_pid(c, id), 0);
  EXPECT_EQ(c.cancel(id)["id"], id);
  const std::vector<json> events = bbtest::all_events(c, id);
  EXPECT_EQ(events.back()["state"], "cancelled");
  try {
    c.cancel(id);
    FAIL() << "a finished job was cancelled again";
  } catch (const bb::remote::RemoteError& e) {
    EXPECT_EQ(e.status, 409);
  }
}

TEST(RemoteFaults, RestartedServerStillListsJobsAndArtifacts) {
  Fixture f("restart");
  bb::remote::Client c = f.client();
  json quick = long_finetune();
  quick["params"]["steps"] = 2;
  const std::string done = c.submit(quick)["id"];
  ASSERT_EQ(bbtest::all_events(c, done).back()["state"], "succeeded");
  const std::string interrupted = c.submit(long_finetune())["id"];
  ASSERT_GT(worker_pid(c, interrupted), 0);
  const std::string queued = c.submit(quick)["id"];  // waits behind the running job (max_jobs 1)
  EXPECT_EQ(c.job(queued)["state"], "queued");

  f.restart();
  bb::remote::Client c2 = f.client();
  const json jobs = c2.jobs();
  ASSERT_EQ(jobs.size(), 3u);
  EXPECT_EQ(jobs[0]["id"], done);
  EXPECT_EQ(jobs[0]["state"], "succeeded");
  EXPECT_EQ(jobs[1]["id"], interrupted);
  EXPECT_EQ(jobs[1]["state"], "failed");
  EXPECT_NE(jobs[1]["error"].get<std::string>().find("server stopped"), std::string::npos) << jobs[1].dump();
  EXPECT_EQ(jobs[2]["id"], queued);
  // The queued job runs after the restart; finished jobs keep their artifacts.
  EXPECT_EQ(bbtest::all_events(c2, queued).back()["state"], "succeeded");
  bool has_model = false;
  for (const json& a : c2.artifacts(done)) has_model = has_model || a["path"] == "finetune/model/model.safetensors";
  EXPECT_TRUE(has_model);
  c2.fetch(interrupted, "worker.log", f.tmp.path + "/interrupted.log");
  EXPECT_FALSE(bbtest::read_all(f.tmp.path + "/interrupted.log").empty());
}

// A TCP proxy in front of the runner that cuts each of its first `cuts` connections after
// forwarding `budget` bytes from the server: a network that drops mid-stream.
class DroppingProxy {
 public:
  DroppingProxy(int target_port, int cuts, size_t budget) : target_(target_port), cuts_left_(cuts), budget_(budget) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(listen_fd_, 16);
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { accept_loop(); });
  }
  ~DroppingProxy() {
    stop_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    thread_.join();
    for (auto& t : pumps_) t.join();
  }
  int port() const { return port_; }
  int connections() const { return connections_; }

 private:
  void accept_loop() {
    while (!stop_) {
      const int in = ::accept(listen_fd_, nullptr, nullptr);
      if (in < 0) return;
      ++connections_;
      const bool cut = cuts_left_-- > 0;
      pumps_.emplace_back([this, in, cut] { pump(in, cut); });
    }
  }
  void pump(int in, bool cut) {
    const int out = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(uint16_t(target_));
    if (::connect(out, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(in);
      ::close(out);
      return;
    }
    size_t from_server = 0;
    char buf[256];
    pollfd fds[2] = {{in, POLLIN, 0}, {out, POLLIN, 0}};
    while (!stop_) {
      if (::poll(fds, 2, 100) <= 0) continue;
      if (fds[0].revents & (POLLIN | POLLHUP)) {
        const ssize_t n = ::recv(in, buf, sizeof buf, 0);
        if (n <= 0 || ::send(out, buf, size_t(n), MSG_NOSIGNAL) != n) break;
      }
      if (fds[1].revents & (POLLIN | POLLHUP)) {
        size_t want = sizeof buf;
        if (cut) want = std::min(want, budget_ - from_server);
        const ssize_t n = ::recv(out, buf, want, 0);
        if (n <= 0 || ::send(in, buf, size_t(n), MSG_NOSIGNAL) != n) break;
        from_server += size_t(n);
        if (cut && from_server >= budget_) break;  // the network drops here
      }
    }
    ::shutdown(in, SHUT_RDWR);
    ::close(in);
    ::close(out);
  }

  int target_, port_ = 0, listen_fd_ = -1;
  std::atomic<int> cuts_left_, connections_{0};
  size_t budget_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<std::thread> pumps_;
};

TEST(RemoteFaults, ClientResumesTheEventStreamAfterADrop) {
  Fixture f("drop");
  bb::remote::Client direct = f.client();
  json quick = long_finetune();
  quick["params"]["steps"] = 12;
  const std::string id = direct.submit(quick)["id"];

  // Follow the live job through a network that drops the first 4 connections after 700 bytes.
  DroppingProxy proxy(f.server->port(), 4, 700);
  bb::remote::ClientOptions o;
  o.url = "http://127.0.0.1:" + std::to_string(proxy.port());
  o.token = bbtest::kToken;
  o.reconnect_delay_ms = 20;
  bb::remote::Client flaky(o);
  std::vector<std::string> got;
  const uint64_t end = flaky.events(id, 0, [&](const json& e) {
    got.push_back(e.dump());
    return true;
  });
  EXPECT_GE(flaky.reconnects(), 4);
  EXPECT_GE(proxy.connections(), 5);

  // Exactly the server's event log: nothing lost, nothing twice, in order.
  std::vector<std::string> expected;
  std::istringstream log(bbtest::read_all(f.tmp.path + "/state/jobs/" + id + "/events.jsonl"));
  for (std::string line; std::getline(log, line);) expected.push_back(json::parse(line).dump());
  EXPECT_EQ(got, expected);
  EXPECT_EQ(end, fs::file_size(f.tmp.path + "/state/jobs/" + id + "/events.jsonl"));
  EXPECT_EQ(json::parse(got.back())["state"], "succeeded");

  // Resuming from an offset returns only what follows it.
  std::vector<std::string> tail;
  const std::string log_text = bbtest::read_all(f.tmp.path + "/state/jobs/" + id + "/events.jsonl");
  uint64_t mid = 0;
  for (size_t i = 0; i < expected.size() / 2; ++i) mid = log_text.find('\n', mid) + 1;
  direct.events(id, mid, [&](const json& e) {
    tail.push_back(e.dump());
    return true;
  });
  EXPECT_EQ(tail, std::vector<std::string>(expected.begin() + long(expected.size() / 2), expected.end()));
  httplib::Client raw("127.0.0.1", f.server->port());
  httplib::Result bad = raw.Get(("/v1/jobs/" + id + "/events?offset=" + std::to_string(mid + 1)).c_str(),
                                httplib::Headers{{"Authorization", "Bearer " + bbtest::kToken}});
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);  // not at a line start
}

TEST(RemoteFaults, FiftyParallelClientsNothingLostConcurrencyBounded) {
  Fixture f("parallel", 2);
  f.server->stop();
  f.options.http_threads = 8;  // fewer handler threads than clients: requests queue, none is dropped
  f.server = bbtest::start_runner(f.options);
  json quick = long_finetune();
  quick["params"]["steps"] = 1;
  std::atomic<int> failures{0};
  std::mutex mu;
  std::vector<std::string> ids;
  std::vector<std::thread> threads;
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&, i] {
      try {
        bb::remote::Client c = f.client();
        c.health();
        const std::string body = "document " + std::to_string(i) + std::string(size_t(1000 + i), 'a' + char(i % 26));
        const std::string local = f.tmp.write("par/" + std::to_string(i) + ".txt", body);
        const json up = c.upload(local, "par/" + std::to_string(i) + ".txt");
        if (up["sha256"] != bb::io::file_sha256(local)) ++failures;
        if (i % 10 == 0) {
          const std::string id = c.submit(quick)["id"];
          std::lock_guard lock(mu);
          ids.push_back(id);
        }
        c.jobs();
      } catch (const std::exception& e) {
        std::lock_guard lock(mu);
        ADD_FAILURE() << "client " << i << ": " << e.what();
        ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  ASSERT_EQ(ids.size(), 5u);
  bb::remote::Client c = f.client();
  for (const std::string& id : ids) EXPECT_EQ(bbtest::all_events(c, id).back()["state"], "succeeded") << id;
  EXPECT_LE(f.server->peak_running_jobs(), 2);
  EXPECT_GE(f.server->peak_running_jobs(), 1);
  httplib::Client raw("127.0.0.1", f.server->port());
  httplib::Result list = raw.Get("/v1/uploads", httplib::Headers{{"Authorization", "Bearer " + bbtest::kToken}});
  ASSERT_TRUE(list);
  EXPECT_EQ(json::parse(list->body).size(), 51u);  // 50 + train.csv
}

}  // namespace
