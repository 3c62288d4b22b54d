// `bigbird pull` / hub_pull against a real HTTP server on 127.0.0.1 that serves a hub-like tree:
// the HF cache layout is written, a transfer cut mid-way resumes (within a run and across runs),
// files are verified by sha256 / git blob sha1, and 401 / 404 / timeouts / disk full / bad
// checksums are one clear error each. No internet is involved.
#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>

#include "engine/io/atomic_file.h"
#include "engine/io/digest.h"
#include "engine/io/hub_client.h"
#include "engine/models/bigbird_model.h"
#include "tests/engine/io/io_test_util.h"
#include "tests/engine/io/tiny_bigbird.h"

using namespace bb;
using bb::testing::error_of;
using bb::testing::TempDir;
namespace fs = std::filesystem;

namespace {

const std::string kCommit = "c0ffee0000000000000000000000000000000001";

std::string sha256_of(const std::string& s) {
  io::Digest d(io::Digest::Kind::Sha256);
  d.update(s);
  return d.hex();
}
std::string git_sha1_of(const std::string& s) {
  io::Digest d(io::Digest::Kind::Sha1);
  const std::string header = "blob " + std::to_string(s.size());
  d.update(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(header.c_str()), header.size() + 1));
  d.update(s);
  return d.hex();
}

struct RemoteFile {
  RemoteFile() = default;
  RemoteFile(std::string c, bool is_lfs = false) : content(std::move(c)), lfs(is_lfs) {}
  std::string content;
  bool lfs = false;
  std::string served;  // what the CDN actually sends ("" = content); for checksum tests
};

// A hub-like server: /api/models/<repo>/revision/<rev>, HEAD/GET /<repo>/resolve/<commit>/<file>,
// LFS files redirected to /cdn/<sha256> (which honours Range). It can cut the first download of
// a file half-way, require a token, or stall.
class FakeHub {
 public:
  std::map<std::string, std::map<std::string, RemoteFile>> repos;  // repo -> file -> content
  std::set<std::string> private_repos;
  std::set<std::string> slow_repos;
  std::atomic<int> cuts_left{0};
  std::mutex mu;
  std::vector<std::string> ranges;  // Range headers of CDN GETs
  int content_gets = 0;

  FakeHub() {
    server_.Get(R"(/api/models/(.+)/revision/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
      const std::string repo = req.matches[1], rev = req.matches[2];
      if (slow_repos.count(repo)) std::this_thread::sleep_for(std::chrono::seconds(3));
      if (!repos.count(repo)) return error(res, 404, "RepoNotFound");
      if (!authorized(req, repo)) return error(res, 401, "GatedRepo");
      if (rev != "main" && rev != kCommit) return error(res, 404, "RevisionNotFound");
      nlohmann::json j = {{"sha", kCommit}, {"siblings", nlohmann::json::array()}};
      for (const auto& [name, f] : repos[repo]) j["siblings"].push_back({{"rfilename", name}});
      res.set_content(j.dump(), "application/json");
    });
    auto resolve = [this](const httplib::Request& req, httplib::Response& res) {
      const std::string repo = req.matches[1], commit = req.matches[2], file = req.matches[3];
      if (!repos.count(repo)) return error(res, 404, "RepoNotFound");
      if (!authorized(req, repo)) return error(res, 401, "GatedRepo");
      if (commit != kCommit || !repos[repo].count(file)) return error(res, 404, "EntryNotFound");
      const RemoteFile& f = repos[repo][file];
      if (f.lfs) {
        res.status = 302;
        res.set_header("Location", "/cdn/" + sha256_of(f.content));
        res.set_header("X-Linked-Etag", "\"" + sha256_of(f.content) + "\"");
        res.set_header("X-Linked-Size", std::to_string(f.content.size()));
        res.set_header("X-Repo-Commit", kCommit);
        return;
      }
      res.set_header("ETag", "\"" + git_sha1_of(f.content) + "\"");
      res.set_header("X-Repo-Commit", kCommit);
      res.set_content(f.content, "application/octet-stream");  // HEAD: headers only
    };
    server_.Get(R"(/(.+/.+)/resolve/([0-9a-f]+)/(.+))", resolve);
    server_.Get(R"(/cdn/([0-9a-f]+))", [this](const httplib::Request& req, httplib::Response& res) {
      const RemoteFile* f = by_sha(req.matches[1]);
      if (!f) return error(res, 404, "EntryNotFound");
      const std::string body = f->served.empty() ? f->content : f->served;
      {
        std::lock_guard<std::mutex> lock(mu);
        ranges.push_back(req.get_header_value("Range"));
        ++content_gets;
      }
      const bool cut = cuts_left.load() > 0 && !req.has_header("Range");
      if (cut) --cuts_left;
      res.set_content_provider(body.size(), "application/octet-stream",
                               [body, cut](size_t offset, size_t length, httplib::DataSink& sink) {
                                 const size_t half = body.size() / 2;
                                 if (cut) {  // send the first half, then drop the connection
                                   if (offset < half) sink.write(body.data() + offset, half - offset);
                                   return false;
                                 }
                                 sink.write(body.data() + offset, length);
                                 return true;
                               });
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeHub() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  bool authorized(const httplib::Request& req, const std::string& repo) const {
    return !private_repos.count(repo) || req.get_header_value("Authorization") == "Bearer hf_secret";
  }
  static void error(httplib::Response& res, int status, const std::string& code) {
    res.status = status;
    res.set_header("X-Error-Code", code);
    res.set_content("{\"error\":\"" + code + "\"}", "application/json");
  }
  const RemoteFile* by_sha(const std::string& sha) {
    for (const auto& [r, files] : repos)
      for (const auto& [n, f] : files)
        if (f.lfs && sha256_of(f.content) == sha) return &f;
    return nullptr;
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

std::string file_text(const std::string& p) { return io::read_text_file(p); }

void add_tiny_repo(FakeHub& hub, const std::string& repo) {
  hub.repos[repo]["config.json"] = {bb::testing::kTinyBigBirdConfig};
  hub.repos[repo]["pytorch_model.bin"] = {file_text(bb::testing::torch_fixture("tiny_bigbird_state_dict_zip.bin")), true};
  hub.repos[repo]["vocab.txt"] = {"[PAD]\n[UNK]\n[CLS]\n[SEP]\n"};
  hub.repos[repo]["README.md"] = {"# tiny\n"};
}

io::HubOptions options(const FakeHub& hub, const std::string& cache) {
  io::HubOptions o;
  o.endpoint = hub.url();
  o.cache_dir = cache;
  o.timeout_seconds = 2;
  o.token = std::nullopt;
  return o;
}

}  // namespace

TEST(HubDownload, WritesTheHfCacheLayoutAndResumesACutTransfer) {
  FakeHub hub;
  add_tiny_repo(hub, "tiny-org/tiny-bigbird");
  hub.cuts_left = 1;
  TempDir tmp;
  const std::string cache = tmp.file("hub");
  io::HubOptions o = options(hub, cache);
  o.token = "";  // no token even if the environment has one
  std::vector<io::DownloadProgress> seen;
  o.progress = [&](const io::DownloadProgress& p) { seen.push_back(p); };
  const io::PullResult r = io::hub_pull({"tiny-org/tiny-bigbird", "main"}, o);

  const std::string weights = file_text(bb::testing::torch_fixture("tiny_bigbird_state_dict_zip.bin"));
  const std::string repo_dir = cache + "/models--tiny-org--tiny-bigbird";
  EXPECT_EQ(r.commit, kCommit);
  EXPECT_EQ(r.snapshot_dir, repo_dir + "/snapshots/" + kCommit);
  EXPECT_EQ(r.files, (std::vector<std::string>{"config.json", "pytorch_model.bin", "vocab.txt"}));  // no README
  EXPECT_EQ(file_text(repo_dir + "/refs/main"), kCommit);
  EXPECT_EQ(fs::read_symlink(r.snapshot_dir + "/pytorch_model.bin").string(), "../../blobs/" + sha256_of(weights));
  EXPECT_EQ(fs::read_symlink(r.snapshot_dir + "/config.json").string(),
            "../../blobs/" + git_sha1_of(bb::testing::kTinyBigBirdConfig));
  EXPECT_EQ(file_text(r.snapshot_dir + "/pytorch_model.bin"), weights);
  // The cut transfer was resumed from where it broke, not restarted.
  ASSERT_EQ(hub.ranges.size(), 2u);
  EXPECT_EQ(hub.ranges[0], "");
  EXPECT_EQ(hub.ranges[1], "bytes=" + std::to_string(weights.size() / 2) + "-");
  EXPECT_EQ(r.downloaded_bytes, weights.size() + std::string(bb::testing::kTinyBigBirdConfig).size() + 24);
  ASSERT_FALSE(seen.empty());
  EXPECT_TRUE(seen.back().finished);
  for (const auto& e : fs::directory_iterator(repo_dir + "/blobs"))
    EXPECT_EQ(e.path().extension(), "") << "left behind: " << e.path();

  // Loads straight from the cache by repo id, as transformers would.
  ::setenv("HF_HUB_CACHE", cache.c_str(), 1);
  EXPECT_EQ(BigBirdModel::load("tiny-org/tiny-bigbird").config().hidden_size, 8);
  ::unsetenv("HF_HUB_CACHE");

  // A second pull reuses the verified blobs.
  const int gets = hub.content_gets;
  const io::PullResult again = io::hub_pull({"tiny-org/tiny-bigbird", "main"}, o);
  EXPECT_EQ(again.reused_files, 3u);
  EXPECT_EQ(again.downloaded_bytes, 0u);
  EXPECT_EQ(hub.content_gets, gets);
}

TEST(HubDownload, ResumesAcrossRuns) {
  FakeHub hub;
  add_tiny_repo(hub, "tiny-org/tiny-bigbird");
  hub.cuts_left = 1;
  TempDir tmp;
  io::HubOptions o = options(hub, tmp.file("hub"));
  o.retries = 0;
  const std::string err = error_of([&] { io::hub_pull({"tiny-org/tiny-bigbird", "main"}, o); });
  EXPECT_NE(err.find("tiny-org/tiny-bigbird@main: pytorch_model.bin"), std::string::npos) << err;
  EXPECT_NE(err.find("run again to resume"), std::string::npos) << err;
  const std::string weights = file_text(bb::testing::torch_fixture("tiny_bigbird_state_dict_zip.bin"));
  const std::string part = tmp.file("hub") + "/models--tiny-org--tiny-bigbird/blobs/" + sha256_of(weights) + ".incomplete";
  EXPECT_EQ(fs::file_size(part), weights.size() / 2);
  const io::PullResult r = io::hub_pull({"tiny-org/tiny-bigbird", "main"}, o);
  EXPECT_EQ(file_text(r.snapshot_dir + "/pytorch_model.bin"), weights);
  EXPECT_EQ(hub.ranges.back(), "bytes=" + std::to_string(weights.size() / 2) + "-");
  EXPECT_FALSE(fs::exists(part));
}

TEST(HubDownload, TokenNotFoundAndChecksumErrors) {
  FakeHub hub;
  add_tiny_repo(hub, "org/private");
  hub.private_repos.insert("org/private");
  add_tiny_repo(hub, "org/corrupt");
  RemoteFile& corrupt = hub.repos["org/corrupt"]["pytorch_model.bin"];
  corrupt.content += "!";  // its own sha256 (the CDN serves by hash)
  corrupt.served = std::string(corrupt.content.size(), 'x');
  TempDir tmp;
  io::HubOptions o = options(hub, tmp.file("hub"));
  o.token = "";
  std::string err = error_of([&] { io::hub_pull({"org/private", "main"}, o); });
  EXPECT_NE(err.find("org/private@main: revision main: access denied: the repo is private or gated; set HF_TOKEN"), std::string::npos) << err;
  EXPECT_NE(err.find("HTTP 401"), std::string::npos) << err;
  o.token = "hf_wrong";
  err = error_of([&] { io::hub_pull({"org/private", "main"}, o); });
  EXPECT_NE(err.find("the token was refused"), std::string::npos) << err;
  // HF_TOKEN from the environment, HF_ENDPOINT from the environment.
  ::setenv("HF_TOKEN", "hf_secret", 1);
  ::setenv("HF_ENDPOINT", hub.url().c_str(), 1);
  io::HubOptions env_opts;
  env_opts.cache_dir = tmp.file("hub");
  EXPECT_EQ(io::hub_pull({"org/private", "main"}, env_opts).files.size(), 3u);
  ::unsetenv("HF_TOKEN");
  ::unsetenv("HF_ENDPOINT");

  // The token file huggingface-cli login writes ($HF_HOME/token), when HF_TOKEN is not set.
  ::setenv("HF_HOME", tmp.file("hf-home").c_str(), 1);
  fs::create_directories(tmp.file("hf-home"));
  io::write_file_atomic(tmp.file("hf-home") + "/token", std::string("hf_secret\n"));
  io::HubOptions file_token = options(hub, tmp.file("hub2"));
  EXPECT_EQ(io::hub_pull({"org/private", "main"}, file_token).files.size(), 3u);
  ::unsetenv("HF_HOME");

  err = error_of([&] { io::hub_pull({"org/missing", "main"}, o); });
  EXPECT_NE(err.find("org/missing@main: revision main: repository org/missing not found (HTTP 404"), std::string::npos) << err;
  err = error_of([&] { io::hub_pull({"org/corrupt", "v9"}, o); });
  EXPECT_NE(err.find("revision v9 not found"), std::string::npos) << err;
  err = error_of([&] { io::hub_pull({"org/corrupt", "main"}, o); });
  EXPECT_NE(err.find("org/corrupt@main: pytorch_model.bin: checksum mismatch (expected "), std::string::npos) << err;
  EXPECT_NE(err.find("the partial file was removed"), std::string::npos) << err;
}

TEST(HubDownload, TimeoutAndDiskFull) {
  FakeHub hub;
  add_tiny_repo(hub, "org/slow");
  hub.slow_repos.insert("org/slow");
  add_tiny_repo(hub, "org/model");
  TempDir tmp;
  io::HubOptions o = options(hub, tmp.file("hub"));
  o.timeout_seconds = 1;
  const auto start = std::chrono::steady_clock::now();
  std::string err = error_of([&] { io::hub_pull({"org/slow", "main"}, o); });
  EXPECT_NE(err.find("broke or timed out (no data for 1 s)"), std::string::npos) << err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));

  // The partial file lands on a full disk.
  const std::string weights = file_text(bb::testing::torch_fixture("tiny_bigbird_state_dict_zip.bin"));
  const std::string blobs = tmp.file("hub") + "/models--org--model/blobs";
  fs::create_directories(blobs);
  fs::create_symlink("/dev/full", blobs + "/" + sha256_of(weights) + ".incomplete");
  err = error_of([&] { io::hub_pull({"org/model", "main"}, o); });
  EXPECT_NE(err.find("org/model@main: pytorch_model.bin: cannot write"), std::string::npos) << err;
  EXPECT_NE(err.find("disk full (No space left on device)"), std::string::npos) << err;
}

TEST(HubDownload, UnsafeShardNamesAreRefused) {
  FakeHub hub;
  hub.repos["org/evil"]["config.json"] = {bb::testing::kTinyBigBirdConfig};
  hub.repos["org/evil"]["model.safetensors.index.json"] = {R"({"weight_map": {"a": "../../../../etc/passwd"}})"};
  TempDir tmp;
  const std::string err = error_of([&] { io::hub_pull({"org/evil", "main"}, options(hub, tmp.file("hub"))); });
  EXPECT_NE(err.find("which is not a safe path"), std::string::npos) << err;
}

TEST(HubDownload, PullCommandPrintsProgressAndTheSnapshot) {
  FakeHub hub;
  add_tiny_repo(hub, "tiny-org/tiny-bigbird");
  TempDir tmp;
  const std::string cmd = "HF_ENDPOINT=" + hub.url() + " HF_HUB_CACHE=" + tmp.file("hub") + " HF_TOKEN= " +
                          std::string(BIGBIRD_CLI) + " pull tiny-org/tiny-bigbird@main >" + tmp.file("out") + " 2>" + tmp.file("err");
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << file_text(tmp.file("err"));
  const std::string out = file_text(tmp.file("out"));
  EXPECT_NE(out.find(tmp.file("hub") + "/models--tiny-org--tiny-bigbird/snapshots/" + kCommit), std::string::npos) << out;
  EXPECT_NE(file_text(tmp.file("err")).find("pytorch_model.bin"), std::string::npos);
  const std::string bad = "HF_ENDPOINT=" + hub.url() + " HF_HUB_CACHE=" + tmp.file("hub") + " " + std::string(BIGBIRD_CLI) +
                          " pull no/such-repo 2>" + tmp.file("err2");
  const int s2 = std::system(bad.c_str());
  EXPECT_NE(WEXITSTATUS(s2), 0);
  EXPECT_NE(file_text(tmp.file("err2")).find("repository no/such-repo not found"), std::string::npos) << file_text(tmp.file("err2"));
}
