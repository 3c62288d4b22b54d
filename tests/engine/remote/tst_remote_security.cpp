// Security of the remote runner: token on every endpoint (401), size limits (413), path traversal
// refused in uploads, artifacts and job specs, rate limits (429), the loopback/TLS rule, TLS with
// a self-signed certificate generated here, token files private to their owner.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>

#include "engine/io/digest.h"
#include "engine/remote/protocol.h"
#include "engine/remote/token_file.h"
#include "tests/engine/remote/remote_test_util.h"

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

httplib::Headers bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

int status_of(const httplib::Result& r) { return r ? r->status : -1; }

TEST(RemoteSecurity, EveryEndpointNeedsTheToken) {
  bbtest::RemoteTemp tmp("auth");
  auto server = bbtest::start_runner(bbtest::runner_options(tmp.path + "/state"));
  httplib::Client raw("127.0.0.1", server->port());
  const std::vector<std::pair<std::string, std::string>> endpoints = {
      {"GET", "/v1/health"},           {"GET", "/v1/uploads"},          {"GET", "/v1/uploads/a.txt"},
      {"PUT", "/v1/uploads/a.txt"},    {"POST", "/v1/uploads/a.txt"},   {"GET", "/v1/jobs"},
      {"POST", "/v1/jobs"},            {"GET", "/v1/jobs/j-0123456789abcdef"},
      {"GET", "/v1/jobs/j-0123456789abcdef/events"},                    {"POST", "/v1/jobs/j-0123456789abcdef/cancel"},
      {"GET", "/v1/jobs/j-0123456789abcdef/artifacts"},                 {"GET", "/v1/jobs/j-0123456789abcdef/artifacts/x"},
      {"GET", "/v1/no-such-endpoint"}, {"GET", "/"}};
  const std::vector<httplib::Headers> bad = {
      {},
      bearer("wrong-token-0123456789abcdef-xx"),
      bearer(bbtest::kToken + "x"),
      bearer(bbtest::kToken.substr(0, bbtest::kToken.size() - 1)),
      {{"Authorization", bbtest::kToken}},  // no "Bearer "
      {{"Authorization", "Basic " + bbtest::kToken}}};
  for (const auto& [method, path] : endpoints) {
    for (const httplib::Headers& h : bad) {
      httplib::Result r = method == "GET"   ? raw.Get(path.c_str(), h)
                          : method == "PUT" ? raw.Put(path.c_str(), h, "data", "application/octet-stream")
                                            : raw.Post(path.c_str(), h, "{}", "application/json");
      ASSERT_TRUE(r) << method << " " << path;
      EXPECT_EQ(r->status, 401) << method << " " << path;
      EXPECT_EQ(r->body.find(bbtest::kToken), std::string::npos);
    }
  }
  // Nothing was written by the refused requests.
  EXPECT_FALSE(fs::exists(tmp.path + "/state/uploads/partial/a.txt"));
  EXPECT_EQ(status_of(raw.Get("/v1/health", bearer(bbtest::kToken))), 200);

  bb::remote::Client wrong = bbtest::client_for(*server, "wrong-token-0123456789abcdef-xx");
  try {
    wrong.health();
    FAIL() << "a wrong token was accepted";
  } catch (const bb::remote::RemoteError& e) {
    EXPECT_EQ(e.status, 401);
    EXPECT_NE(std::string(e.what()).find("unauthorized"), std::string::npos);
  }
}

TEST(RemoteSecurity, SizeLimitsAndChecksums) {
  bbtest::RemoteTemp tmp("limits");
  bb::remote::ServerOptions o = bbtest::runner_options(tmp.path + "/state");
  o.max_upload_bytes = 1000;
  o.max_request_bytes = 64 * 1024;
  auto server = bbtest::start_runner(o);
  bb::remote::Client c = bbtest::client_for(*server);

  try {
    c.upload(tmp.write("big.txt", std::string(2000, 'x')), "big.txt");
    FAIL() << "an upload over the limit was accepted";
  } catch (const bb::remote::RemoteError& e) {
    EXPECT_EQ(e.status, 413) << e.what();
  }
  EXPECT_FALSE(fs::exists(tmp.path + "/state/uploads/files/big.txt"));
  const json ok = c.upload(tmp.write("small.txt", std::string(1000, 'y')), "small.txt");
  EXPECT_EQ(ok["size"], 1000);

  httplib::Client raw("127.0.0.1", server->port());
  // One request body over the request limit: refused before it is read.
  EXPECT_EQ(status_of(raw.Put("/v1/uploads/huge.bin?offset=0", bearer(bbtest::kToken), std::string(100 * 1024, 'z'),
                              "application/octet-stream")),
            413);
  // A wrong checksum discards the upload.
  EXPECT_EQ(status_of(raw.Put("/v1/uploads/c.txt?offset=0", bearer(bbtest::kToken), "hello", "text/plain")), 200);
  EXPECT_EQ(status_of(raw.Post(("/v1/uploads/c.txt?size=5&sha256=" + std::string(64, '0')).c_str(), bearer(bbtest::kToken), "",
                               "text/plain")),
            422);
  EXPECT_FALSE(fs::exists(tmp.path + "/state/uploads/files/c.txt"));
  // Offsets must continue the server's copy (409 tells the client where to resume).
  EXPECT_EQ(status_of(raw.Put("/v1/uploads/d.txt?offset=0", bearer(bbtest::kToken), "abc", "text/plain")), 200);
  httplib::Result gap = raw.Put("/v1/uploads/d.txt?offset=10", bearer(bbtest::kToken), "def", "text/plain");
  ASSERT_TRUE(gap);
  EXPECT_EQ(gap->status, 409);
  EXPECT_EQ(json::parse(gap->body)["received"], 3);
  // The client resumes an interrupted upload from the server's 3 bytes.
  const std::string full = tmp.write("d.txt", "abcdefgh");
  const json resumed = c.upload(full, "d.txt");
  EXPECT_EQ(resumed["sha256"], bb::io::file_sha256(full));
  EXPECT_EQ(bbtest::read_all(tmp.path + "/state/uploads/files/d.txt"), "abcdefgh");
  // Job specs are size-limited too and strictly checked.
  EXPECT_EQ(status_of(raw.Post("/v1/jobs", bearer(bbtest::kToken), std::string(100 * 1024, ' '), "application/json")), 413);
  EXPECT_EQ(status_of(raw.Post("/v1/jobs", bearer(bbtest::kToken), "not json", "application/json")), 400);
  const json unknown_param = {{"kind", "summarize"}, {"model", "uploads/small.txt"}, {"inputs", {{"document", "uploads/small.txt"}}},
                              {"params", {{"out", "/etc/passwd"}}}};
  httplib::Result r = raw.Post("/v1/jobs", bearer(bbtest::kToken), unknown_param.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("no parameter 'out'"), std::string::npos) << r->body;
}

TEST(RemoteSecurity, PathTraversalIsRefused) {
  bbtest::RemoteTemp tmp("paths");
  auto server = bbtest::start_runner(bbtest::runner_options(tmp.path + "/state"));
  httplib::Client raw("127.0.0.1", server->port());
  const auto h = bearer(bbtest::kToken);
  for (const std::string name : {"../evil.txt", "a/../../evil.txt", "..", "./x", "a//b", ".hidden", "a/%2e%2e/%2e%2e/evil.txt",
                                 "..%2fevil.txt", "a\\..\\evil.txt"}) {
    httplib::Result put = raw.Put(("/v1/uploads/" + name + "?offset=0").c_str(), h, "x", "text/plain");
    ASSERT_TRUE(put) << name;
    EXPECT_TRUE(put->status == 400 || put->status == 404) << name << " -> " << put->status;
    EXPECT_NE(put->status, 200) << name;
  }
  for (const char* p : {"evil.txt", "state/evil.txt", "state/uploads/evil.txt"})
    EXPECT_FALSE(fs::exists(tmp.path + "/" + p)) << p;
  EXPECT_TRUE(fs::is_empty(tmp.path + "/state/uploads/partial"));

  // Job specs: references outside uploads/ or with '..' never reach a worker.
  for (const std::string ref : {"uploads/../../etc/passwd", "/etc/passwd", "uploads//etc/passwd", "models/../x", "uploads/a/./b"}) {
    const json spec = {{"kind", "summarize"}, {"model", ref}, {"inputs", {{"document", ref}}}};
    httplib::Result r = raw.Post("/v1/jobs", h, spec.dump(), "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << ref << ": " << r->body;
  }
  EXPECT_TRUE(fs::is_empty(tmp.path + "/state/jobs"));

  // Artifacts: a real job, then escapes from its directory.
  bb::remote::Client c = bbtest::client_for(*server);
  c.upload(tmp.write("doc.txt", "text"), "doc.txt");
  const std::string id = c.submit({{"kind", "summarize"}, {"model", "uploads/doc.txt"}, {"inputs", {{"document", "uploads/doc.txt"}}}})["id"];
  bbtest::all_events(c, id);  // fails (the model is not a model); its artifacts directory exists
  for (const std::string a : {"../job.json", "../events.jsonl", "..%2fjob.json", "x/../../job.json", "/etc/passwd"}) {
    httplib::Result r = raw.Get(("/v1/jobs/" + id + "/artifacts/" + a).c_str(), h);
    ASSERT_TRUE(r) << a;
    EXPECT_TRUE(r->status == 400 || r->status == 404) << a << " -> " << r->status;
  }
  // A symlink left in the artifacts directory is not followed.
  fs::create_symlink(tmp.path + "/state/jobs/" + id + "/job.json", tmp.path + "/state/jobs/" + id + "/artifacts/link.json");
  EXPECT_EQ(status_of(raw.Get(("/v1/jobs/" + id + "/artifacts/link.json").c_str(), h)), 404);
  EXPECT_EQ(status_of(raw.Get(("/v1/jobs/" + id + "/artifacts/worker.log").c_str(), h)), 200);
  EXPECT_EQ(status_of(raw.Get("/v1/jobs/../jobs", h)), 404);
}

TEST(RemoteSecurity, RateLimitAnswers429) {
  bbtest::RemoteTemp tmp("rate");
  bb::remote::ServerOptions o = bbtest::runner_options(tmp.path + "/state");
  o.rate_per_s = 0.5;
  o.rate_burst = 3;
  auto server = bbtest::start_runner(o);
  httplib::Client raw("127.0.0.1", server->port());
  std::vector<int> statuses;
  for (int i = 0; i < 5; ++i) statuses.push_back(status_of(raw.Get("/v1/health", bearer(bbtest::kToken))));
  EXPECT_EQ(statuses, (std::vector<int>{200, 200, 200, 429, 429}));
  // Guessing tokens is rate-limited as well.
  EXPECT_EQ(status_of(raw.Get("/v1/health", bearer("guess-0123456789abcdef"))), 429);
}

TEST(RemoteSecurity, LoopbackUnlessTlsOrInsecure) {
  bbtest::RemoteTemp tmp("listen");
  bb::remote::ServerOptions o = bbtest::runner_options(tmp.path + "/state");
  o.host = "0.0.0.0";
  try {
    bb::remote::Server s(o);
    FAIL() << "plain HTTP on 0.0.0.0 was accepted";
  } catch (const bb::Error& e) {
    EXPECT_NE(std::string(e.what()).find("without TLS"), std::string::npos) << e.what();
  }
  o.insecure = true;
  EXPECT_NO_THROW(bb::remote::Server{o});
  o = bbtest::runner_options(tmp.path + "/state");
  o.token = "short";
  EXPECT_THROW(bb::remote::Server{o}, bb::Error);
  EXPECT_TRUE(bb::remote::is_loopback_host("127.0.0.1") && bb::remote::is_loopback_host("::1"));
  EXPECT_FALSE(bb::remote::is_loopback_host("10.0.0.1") || bb::remote::is_loopback_host("0.0.0.0"));
}

TEST(RemoteSecurity, TlsWithASelfSignedCertificate) {
  bbtest::RemoteTemp tmp("tls");
  const std::string cert = tmp.path + "/cert.pem", key = tmp.path + "/key.pem";
  const std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=127.0.0.1"
                          " -addext subjectAltName=IP:127.0.0.1 -keyout " + key + " -out " + cert + " 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl could not make a certificate";
  bb::remote::ServerOptions o = bbtest::runner_options(tmp.path + "/state");
  o.tls_cert = cert;
  o.tls_key = key;
  auto server = bbtest::start_runner(o);
  ASSERT_EQ(server->url().rfind("https://127.0.0.1:", 0), 0u) << server->url();

  bb::remote::ClientOptions co{server->url(), bbtest::kToken, cert};
  bb::remote::Client c(co);
  EXPECT_EQ(c.health()["protocol"], 1);
  c.upload(tmp.write("doc.txt", "over TLS"), "doc.txt");
  EXPECT_EQ(c.jobs().size(), 0u);

  co.ca_cert = "";  // the system CAs do not trust a self-signed certificate
  EXPECT_THROW(bb::remote::Client(co).health(), bb::Error);
  co = {"http://127.0.0.1:" + std::to_string(server->port()), bbtest::kToken, ""};
  EXPECT_THROW(bb::remote::Client(co).health(), bb::Error);  // plain HTTP to the TLS port
  co = {server->url(), "wrong-token-0123456789abcdef-xx", cert};
  try {
    bb::remote::Client(co).health();
    FAIL();
  } catch (const bb::remote::RemoteError& e) {
    EXPECT_EQ(e.status, 401);
  }
}

TEST(RemoteSecurity, TokenFilesArePrivate) {
  bbtest::RemoteTemp tmp("token");
  const std::string f = tmp.path + "/token";
  const std::string t = bb::remote::create_token_file(f);
  EXPECT_EQ(t.size(), 64u);
  struct stat st {};
  ASSERT_EQ(::stat(f.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(bb::remote::read_token_file(f), t);
  EXPECT_THROW(bb::remote::create_token_file(f), bb::Error);  // never replaced
  ::chmod(f.c_str(), 0644);
  EXPECT_THROW(bb::remote::read_token_file(f), bb::Error);
  EXPECT_TRUE(bb::remote::constant_time_equal("abc", "abc"));
  EXPECT_FALSE(bb::remote::constant_time_equal("abc", "abd"));
  EXPECT_FALSE(bb::remote::constant_time_equal("abc", "abcd"));
  EXPECT_FALSE(bb::remote::constant_time_equal("", "a"));

  bb::remote::save_runners({{"tpu", "http://127.0.0.1:8750", t, ""}}, tmp.path + "/cfg/runners.json");
  ASSERT_EQ(::stat((tmp.path + "/cfg/runners.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(bb::remote::find_runner("tpu", tmp.path + "/cfg/runners.json").token, t);
}

}  // namespace
