// The desktop client's job helpers against a real runner on loopback: uploads are named by their
// content (the same model folder twice is one upload, a changed file is a new one, a tokenizer is
// added when the folder has none), odd file names become valid upload names, and run_job follows a
// job to its end or cancels it on the runner when asked.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>

#include "engine/remote/remote_job.h"
#include "tests/engine/remote/remote_test_util.h"

using nlohmann::json;

TEST(RemoteJob, UploadsAreNamedByContent) {
  bbtest::RemoteTemp tmp("job-uploads");
  auto server = bbtest::start_runner(bbtest::runner_options(tmp.path + "/state"));
  auto c = bbtest::client_for(*server);
  tmp.write("model/config.json", "{\"model_type\": \"x\"}");
  tmp.write("model/model.safetensors", "weights");
  tmp.write("model/.hidden", "not uploaded");
  const std::string vocab = tmp.write("vocab/pegasus.model", "pieces");

  const std::string ref = bb::remote::upload_model_dir(c, tmp.path + "/model", vocab);
  EXPECT_EQ(ref.rfind("uploads/model-", 0), 0u) << ref;
  EXPECT_EQ(bb::remote::upload_model_dir(c, tmp.path + "/model", vocab), ref);  // the same bytes: the same upload
  const std::string folder = ref.substr(std::string("uploads/").size());
  const std::string files = tmp.path + "/state/uploads/files/" + folder;
  EXPECT_EQ(bbtest::read_all(files + "/config.json"), "{\"model_type\": \"x\"}");
  EXPECT_EQ(bbtest::read_all(files + "/model.safetensors"), "weights");
  EXPECT_EQ(bbtest::read_all(files + "/spiece.model"), "pieces");  // the tokenizer the folder lacked
  EXPECT_FALSE(std::filesystem::exists(files + "/.hidden"));

  tmp.write("model/model.safetensors", "other weights");
  EXPECT_NE(bb::remote::upload_model_dir(c, tmp.path + "/model", vocab), ref);

  const std::string doc = tmp.write("my doc (1).txt", "text");
  std::vector<std::string> progress;
  const std::string doc_ref =
      bb::remote::upload_by_content(c, doc, [&](const std::string& file, uint64_t, uint64_t) { progress.push_back(file); });
  EXPECT_EQ(doc_ref.rfind("uploads/my_doc__1_-", 0), 0u) << doc_ref;
  EXPECT_EQ(doc_ref.substr(doc_ref.size() - 4), ".txt");
  EXPECT_EQ(progress, std::vector<std::string>{"my doc (1).txt"});
  server->stop();
}

TEST(RemoteJob, RunJobFollowsToTheEndOrCancels) {
  bbtest::RemoteTemp tmp("job-run");
  // A worker that only sleeps: the job ends when it is cancelled, or fails at once with /bin/false.
  const std::string sleeper = tmp.write("sleeper.sh", "#!/bin/sh\nsleep 30\n");
  ::chmod(sleeper.c_str(), 0755);
  bb::remote::ServerOptions o = bbtest::runner_options(tmp.path + "/state");
  o.worker.bigbird_executable = sleeper;
  auto server = bbtest::start_runner(o);
  auto c = bbtest::client_for(*server);
  const std::string doc = bb::remote::upload_by_content(c, tmp.write("doc.txt", "a document"));
  const json spec = {{"kind", "summarize"}, {"model", doc}, {"inputs", {{"document", doc}}}};

  std::atomic<bool> running{false};
  std::vector<std::string> states;
  const auto t0 = std::chrono::steady_clock::now();
  const json job = bb::remote::run_job(
      c.options(), spec,
      [&](const json& e) {
        if (e["type"] == "state") states.push_back(e["state"]);
        if (e["type"] == "state" && e["state"] == "running") running.store(true);
      },
      [&] { return running.load(); });  // cancel as soon as the worker runs
  EXPECT_EQ(job["state"], "cancelled") << job.dump();
  ASSERT_FALSE(states.empty());
  EXPECT_EQ(states.front(), "queued");
  EXPECT_EQ(states.back(), "cancelled");
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 20.0);
  server->stop();

  o.worker.bigbird_executable = "/bin/false";
  auto failing = bbtest::start_runner(o);
  auto c2 = bbtest::client_for(*failing);
  const json failed = bb::remote::run_job(c2.options(), spec, [](const json&) {}, [] { return false; });
  EXPECT_EQ(failed["state"], "failed") << failed.dump();
  failing->stop();
}
