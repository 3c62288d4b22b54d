// Full job round trips through a real runner on loopback with the local backend (workers are the
// real bigbird binary): upload a document and a tiny BigBird-Pegasus, summarize, stream progress,
// download the summary (identical to a local `bigbird summarize`); fine-tune a tiny BigBird on an
// uploaded dataset with a model the server offers, and load the returned checkpoint.
#include <gtest/gtest.h>

#include "engine/models/bigbird_model.h"
#include "tests/engine/generate/tiny_pegasus.h"
#include "tests/engine/remote/remote_test_util.h"
#include "tests/engine/support/cli.h"
#include "tests/engine/train/finetune_test_util.h"

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

bbtest::TinyPegasusCleanup pegasus_cleanup;

std::vector<json> of_type(const std::vector<json>& events, const std::string& type) {
  std::vector<json> out;
  for (const json& e : events)
    if (e["type"] == type) out.push_back(e);
  return out;
}

TEST(RemoteRoundTrip, UploadSummarizeStreamDownload) {
  bbtest::RemoteTemp tmp("summarize");
  auto server = bbtest::start_runner(bbtest::runner_options(tmp.path + "/state"));
  bb::remote::Client c = bbtest::client_for(*server);

  const json health = c.health();
  EXPECT_EQ(health["protocol"], 1);
  EXPECT_EQ(health["backend"], "local");

  const std::string model = bbtest::tiny_pegasus_dir();
  c.upload(model + "/config.json", "tiny-pegasus/config.json");
  const json up = c.upload(model + "/model.safetensors", "tiny-pegasus/model.safetensors");
  EXPECT_EQ(up["complete"], true);
  EXPECT_EQ(up["size"], fs::file_size(model + "/model.safetensors"));
  const std::string text = "BigBird reads long documents with sparse attention. It was trained on TPUs.\nA second line.";
  c.upload(tmp.write("doc.txt", text), "docs/doc.txt");

  const json spec = {{"kind", "summarize"},
                     {"model", "uploads/tiny-pegasus"},
                     {"inputs", {{"document", "uploads/docs/doc.txt"}}},
                     {"params", {{"beams", 2}, {"max-length", 8}, {"threads", 1}}}};
  const json submitted = c.submit(spec);
  const std::string id = submitted["id"];
  EXPECT_EQ(submitted["state"], "queued");

  const std::vector<json> events = bbtest::all_events(c, id);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back()["type"], "state");
  ASSERT_EQ(events.back()["state"], "succeeded") << events.back().dump();
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i]["seq"], i);  // nothing lost or repeated
  const auto progress = of_type(events, "progress");
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back()["stage"], "decode");
  std::set<std::string> artifacts;
  for (const json& a : of_type(events, "artifact")) artifacts.insert(a["path"].get<std::string>());
  EXPECT_TRUE(artifacts.count("summary.json") && artifacts.count("summary.txt") && artifacts.count("worker.log"));

  c.fetch(id, "summary.json", tmp.path + "/got/summary.json");
  c.fetch(id, "summary.txt", tmp.path + "/got/summary.txt");
  const json report = json::parse(bbtest::read_all(tmp.path + "/got/summary.json"));
  EXPECT_EQ(report["settings"]["num_beams"], 2);
  EXPECT_EQ(bbtest::read_all(tmp.path + "/got/summary.txt"), report["summary"].get<std::string>() + "\n");

  // The remote job is the local command: the same summary, token for token.
  const bbtest::CliResult local = bbtest::run_cli(
      {"summarize", "--model", model, "--text", text, "--beams", "2", "--max-length", "8", "--threads", "1", "--json"});
  ASSERT_EQ(local.code, 0) << local.err;
  EXPECT_EQ(json::parse(local.out)["summary"], report["summary"]);
  EXPECT_EQ(json::parse(local.out)["chunks"][0]["summary_ids"], report["chunks"][0]["summary_ids"]);

  const json listed = c.jobs();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["id"], id);
  EXPECT_EQ(listed[0]["state"], "succeeded");
}

TEST(RemoteRoundTrip, FinetuneAndLoadTheReturnedCheckpoint) {
  bbtest::RemoteTemp tmp("finetune");
  bbtest::write_model_dir(tmp.path + "/models/tiny-bigbird", bbtest::small_gpt2_vocab_config(), 7);
  bb::remote::ServerOptions o = bbtest::runner_options(tmp.path + "/state");
  o.models_dir = tmp.path + "/models";
  auto server = bbtest::start_runner(o);
  bb::remote::Client c = bbtest::client_for(*server);
  EXPECT_EQ(c.health()["models"], json::array({"tiny-bigbird"}));

  c.upload(tmp.write("train.csv", bbtest::synthetic_classification_csv(64, 1)), "data/train.csv");
  const json spec = {{"kind", "finetune"},
                     {"model", "models/tiny-bigbird"},
                     {"inputs", {{"train", "uploads/data/train.csv"}}},
                     {"params", {{"task", "cls"}, {"steps", 3}, {"batch-size", 4}, {"max-length", 32}, {"lr", 1e-3}, {"threads", 1}}}};
  const std::string id = c.submit(spec)["id"];
  const std::vector<json> events = bbtest::all_events(c, id);
  ASSERT_EQ(events.back()["state"], "succeeded") << events.back().dump() << "\n" << c.job(id).dump();
  const auto metrics = of_type(events, "metric");
  ASSERT_FALSE(metrics.empty());
  int64_t last_step = 0;
  for (const json& m : metrics)
    if (!m.contains("eval")) last_step = m["step"];
  EXPECT_EQ(last_step, 3);

  // Download the exported model directory and load it in the inference engine.
  int fetched = 0;
  for (const json& a : c.artifacts(id)) {
    const std::string path = a["path"];
    if (path.rfind("finetune/model/", 0) != 0) continue;
    c.fetch(id, path, tmp.path + "/returned/" + path.substr(15));
    EXPECT_EQ(fs::file_size(tmp.path + "/returned/" + path.substr(15)), a["size"].get<uint64_t>());
    ++fetched;
  }
  ASSERT_GE(fetched, 2);
  bb::BigBirdModel returned = bb::BigBirdModel::load(tmp.path + "/returned");
  EXPECT_TRUE(returned.has_head(bb::Head::SequenceClassification));
  EXPECT_EQ(returned.config().hidden_size, 32);

  // evaluate: the metrics of a model on an uploaded evaluation set (finetune --eval-only).
  c.upload(tmp.write("eval.csv", bbtest::synthetic_classification_csv(16, 2)), "data/eval.csv");
  const std::string eval_id = c.submit({{"kind", "evaluate"},
                                        {"model", "models/tiny-bigbird"},
                                        {"inputs", {{"eval", "uploads/data/eval.csv"}}},
                                        {"params", {{"task", "cls"}, {"max-length", 32}, {"threads", 1}}}})["id"];
  ASSERT_EQ(bbtest::all_events(c, eval_id).back()["state"], "succeeded") << c.job(eval_id).dump();
  c.fetch(eval_id, "metrics.json", tmp.path + "/metrics.json");
  const json eval_metrics = json::parse(bbtest::read_all(tmp.path + "/metrics.json"));
  EXPECT_TRUE(eval_metrics.contains("eval_accuracy")) << eval_metrics.dump();
}

}  // namespace
