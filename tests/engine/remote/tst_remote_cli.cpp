// `bigbird serve` and `bigbird remote` end to end: the real server process, runners saved with
// 0600 permissions, upload, submit --follow, status, list, fetch, one-line errors (wrong token,
// unknown job), SIGTERM, and a restarted `serve` that still lists the job.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>

#include "engine/remote/token_file.h"
#include "tests/engine/generate/tiny_pegasus.h"
#include "tests/engine/remote/remote_test_util.h"
#include "tests/engine/support/cli.h"

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

bbtest::TinyPegasusCleanup pegasus_cleanup;

// `bigbird serve` as a child process; the URL comes from its first stdout line.
struct ServeProcess {
  pid_t pid = -1;
  std::string url;
  ServeProcess(const std::vector<std::string>& args) {
    int out[2];
    if (pipe(out) != 0) std::abort();
    pid = fork();
    if (pid == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      std::vector<char*> argv = {const_cast<char*>(BIGBIRD_CLI), const_cast<char*>("serve")};
      for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(BIGBIRD_CLI, argv.data());
      _exit(127);
    }
    close(out[1]);
    FILE* f = fdopen(out[0], "r");
    char line[512] = {0};
    if (f && std::fgets(line, sizeof line, f)) {
      const std::string s = line;
      const size_t at = s.find("listening on ");
      if (at != std::string::npos) url = s.substr(at + 13, s.find(' ', at + 13) - at - 13);
    }
    if (f) std::fclose(f);
  }
  int terminate() {
    if (pid <= 0) return -1;
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  ~ServeProcess() { terminate(); }
};

TEST(RemoteCli, ServeAndRemoteCommandsEndToEnd) {
  bbtest::RemoteTemp tmp("cli");
  ::setenv("BIGBIRD_CONFIG_DIR", (tmp.path + "/config").c_str(), 1);
  const std::string token_file = tmp.path + "/token";
  const std::vector<std::string> serve_args = {"--listen", "127.0.0.1:0", "--token-file", token_file, "--state", tmp.path + "/state", "--quiet"};
  std::string id;
  {
    ServeProcess serve(serve_args);
    ASSERT_EQ(serve.url.rfind("http://127.0.0.1:", 0), 0u) << serve.url;
    struct stat st {};
    ASSERT_EQ(::stat(token_file.c_str(), &st), 0);  // created on first start
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    bbtest::CliResult r = bbtest::run_cli({"remote", "add", "box", serve.url, "--token-file", token_file});
    ASSERT_EQ(r.code, 0) << r.err;
    ASSERT_EQ(::stat((tmp.path + "/config/runners.json").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    r = bbtest::run_cli({"remote", "test", "box"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("ok (protocol 1"), std::string::npos) << r.out;

    const std::string model = bbtest::tiny_pegasus_dir();
    for (const char* file : {"config.json", "model.safetensors"}) {
      r = bbtest::run_cli({"remote", "upload", "box", model + "/" + file, "--as", std::string("pegasus/") + file});
      ASSERT_EQ(r.code, 0) << r.err;
    }
    r = bbtest::run_cli({"remote", "upload", "box", tmp.write("doc.txt", "A short document about sparse attention.")});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out.rfind("uploads/doc.txt (", 0), 0u) << r.out;

    const json spec = {{"kind", "summarize"}, {"model", "uploads/pegasus"}, {"inputs", {{"document", "uploads/doc.txt"}}},
                       {"params", {{"beams", 1}, {"max-length", 5}, {"threads", 1}}}};
    r = bbtest::run_cli({"remote", "submit", "box", "--spec", tmp.write("spec.json", spec.dump()), "--follow"});
    ASSERT_EQ(r.code, 0) << r.err << r.out;
    std::vector<json> events;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) events.push_back(json::parse(line));
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back()["state"], "succeeded");
    const size_t at = r.err.find("submitted ");
    ASSERT_NE(at, std::string::npos) << r.err;
    id = r.err.substr(at + 10, r.err.find('\n', at) - at - 10);

    r = bbtest::run_cli({"remote", "status", "box", id});
    EXPECT_EQ(r.code, 0);
    EXPECT_NE(r.out.find("summarize succeeded"), std::string::npos) << r.out;
    r = bbtest::run_cli({"remote", "fetch", "box", id, "summary.txt", "--out", tmp.path + "/summary.txt"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_FALSE(bbtest::read_all(tmp.path + "/summary.txt").empty());
    r = bbtest::run_cli({"remote", "events", "box", id, "--no-follow"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), long(events.size()));

    // Errors are one line with exit code 1.
    for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
             {"remote", "status", "box", "j-0000000000000000"},
             {"remote", "fetch", "box", id, "../job.json", "--out", tmp.path + "/x"},
             {"remote", "test", "nobody"},
             {"remote", "frobnicate", "box"},
             {"remote", "submit", "box", "--spec", "{\"kind\": \"train\"}"}}) {
      r = bbtest::run_cli(bad);
      EXPECT_EQ(r.code, 1) << bad[1];
      EXPECT_TRUE(bbtest::one_line(r.err)) << r.err;
    }
    bb::remote::write_private_file(tmp.path + "/wrong", "wrong-token-0123456789abcdef\n");
    ASSERT_EQ(bbtest::run_cli({"remote", "add", "bad", serve.url, "--token-file", tmp.path + "/wrong"}).code, 0);
    r = bbtest::run_cli({"remote", "list", "bad"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("401"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("wrong-token"), std::string::npos);  // the token is never printed
    EXPECT_EQ(serve.terminate(), 0);
  }
  // A restarted server lists the finished job.
  ServeProcess again(serve_args);
  ASSERT_FALSE(again.url.empty());
  ASSERT_EQ(bbtest::run_cli({"remote", "add", "box", again.url, "--token-file", token_file}).code, 0);
  const bbtest::CliResult r = bbtest::run_cli({"remote", "list", "box"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find(id), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("succeeded"), std::string::npos) << r.out;

  // Plain HTTP on the network is refused unless --insecure.
  const bbtest::CliResult refused = bbtest::run_cli({"serve", "--listen", "0.0.0.0:0", "--token-file", token_file, "--state", tmp.path + "/s2"});
  EXPECT_EQ(refused.code, 1);
  EXPECT_TRUE(bbtest::one_line(refused.err)) << refused.err;
  EXPECT_NE(refused.err.find("without TLS"), std::string::npos);
}

}  // namespace
