// The model manager on real files under Xvfb: a temporary HF cache laid out as huggingface_hub
// writes it (models--org--name/snapshots/<commit>/ with symlinks into blobs/), the studio's data
// directory, a bundled model that may be absent; details, "use", import of the tiny PyTorch
// checkpoint in tests/data, delete with confirmation, and a download from a hub-like HTTP server on
// 127.0.0.1 (through $HF_ENDPOINT) with progress, cancel and resume.
#include <httplib.h>

#include <QDir>
#include <QFile>
#include <QSurfaceFormat>
#include <QTemporaryDir>
#include <QTreeWidget>
#include <QtTest>
#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "engine/io/digest.h"
#include "engine/io/parameter_manifest.h"
#include "engine/models/config.h"
#include "engine/io/safetensors.h"
#include "engine/models/bigbird_model.h"
#include "ui/imgui_widget.h"
#include "ui/finetune/finetune_dashboard.h"
#include "ui/lab_random_model.h"
#include "ui/lab_session.h"
#include "ui/main_window.h"
#include "ui/models/model_manager.h"
#include "ui/task_manager.h"

using namespace bb::ui;
namespace fs = std::filesystem;

namespace {

const std::string kCommit = "0123456789abcdef0123456789abcdef01234567";

const char* kTinyConfig = R"({
  "architectures": ["BigBirdForMaskedLM"], "model_type": "big_bird", "attention_type": "original_full",
  "block_size": 2, "num_random_blocks": 1, "hidden_act": "gelu_new", "hidden_size": 8,
  "intermediate_size": 16, "layer_norm_eps": 1e-12, "max_position_embeddings": 8,
  "num_attention_heads": 2, "num_hidden_layers": 1, "type_vocab_size": 2, "vocab_size": 16,
  "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2, "sep_token_id": 3
})";

std::string readAll(const std::string& path) {
  QFile f(QString::fromStdString(path));
  if (!f.open(QIODevice::ReadOnly)) return {};
  return f.readAll().toStdString();
}

// Built by appending: GCC 12 warns (-Wrestrict, a false positive) on "\"" + std::string + "\"".
std::string quoted(const std::string& s) {
  std::string q;
  q.reserve(s.size() + 2);
  q += '"';
  q += s;
  q += '"';
  return q;
}

std::string sha256(const std::string& s) {
  bb::io::Digest d(bb::io::Digest::Kind::Sha256);
  d.update(s);
  return d.hex();
}
std::string gitSha1(const std::string& s) {
  bb::io::Digest d(bb::io::Digest::Kind::Sha1);
  const std::string header = "blob " + std::to_string(s.size());
  d.update(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(header.c_str()), header.size() + 1));
  d.update(s);
  return d.hex();
}

// Moves a model directory's files into an HF cache repo: blobs/<hash> + snapshot symlinks + refs/main.
void addToCache(const std::string& cache, const std::string& repoDirName, const std::string& modelDir) {
  const fs::path repo = fs::path(cache) / repoDirName;
  fs::create_directories(repo / "blobs");
  fs::create_directories(repo / "snapshots" / kCommit);
  fs::create_directories(repo / "refs");
  for (const auto& e : fs::directory_iterator(modelDir)) {
    const std::string content = readAll(e.path().string());
    const std::string hash = sha256(content);
    fs::copy_file(e.path(), repo / "blobs" / hash);
    fs::create_symlink("../../blobs/" + hash, repo / "snapshots" / kCommit / e.path().filename());
  }
  QFile ref(QString::fromStdString((repo / "refs" / "main").string()));
  QVERIFY(ref.open(QIODevice::WriteOnly));
  ref.write(kCommit.c_str());
}

// A hub-like server: the revision API, HEAD/GET resolve (LFS files redirect to /cdn/<sha256>, which
// honours Range). `slow` sends the CDN body in small paced chunks, so a download can be cancelled.
class FakeHub {
 public:
  std::map<std::string, std::pair<std::string, bool>> files;  // name -> (content, lfs)
  std::atomic<bool> slow{false};

  explicit FakeHub(const std::string& repo) {
    server_.Get(R"(/api/models/(.+)/revision/(.+))", [this, repo](const httplib::Request& req, httplib::Response& res) {
      if (req.matches[1] != repo) return notFound(res);
      nlohmann::json j = {{"sha", kCommit}, {"siblings", nlohmann::json::array()}};
      for (const auto& [name, f] : files) j["siblings"].push_back({{"rfilename", name}});
      res.set_content(j.dump(), "application/json");
    });
    server_.Get(R"(/(.+/.+)/resolve/([0-9a-f]+)/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
      const auto it = files.find(req.matches[3]);
      if (it == files.end()) return notFound(res);
      const auto& [content, lfs] = it->second;
      res.set_header("X-Repo-Commit", kCommit);
      if (lfs) {
        res.status = 302;
        res.set_header("Location", "/cdn/" + sha256(content));
        res.set_header("X-Linked-Etag", quoted(sha256(content)));
        res.set_header("X-Linked-Size", std::to_string(content.size()));
        return;
      }
      res.set_header("ETag", quoted(gitSha1(content)));
      res.set_content(content, "application/octet-stream");
    });
    server_.Get(R"(/cdn/([0-9a-f]+))", [this](const httplib::Request& req, httplib::Response& res) {
      for (const auto& [name, f] : files)
        if (f.second && sha256(f.first) == req.matches[1]) {
          const std::string body = f.first;
          const bool paced = slow.load();
          res.set_content_provider(body.size(), "application/octet-stream",
                                   [body, paced](size_t offset, size_t length, httplib::DataSink& sink) {
                                     const size_t n = paced ? std::min<size_t>(length, 4096) : length;
                                     if (paced) std::this_thread::sleep_for(std::chrono::milliseconds(20));
                                     sink.write(body.data() + offset, n);
                                     return true;
                                   });
          return;
        }
      notFound(res);
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
  static void notFound(httplib::Response& res) {
    res.status = 404;
    res.set_header("X-Error-Code", "EntryNotFound");
  }
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace

class TstModelManager : public QObject {
  Q_OBJECT

 public:
  static void initMain() { QSurfaceFormat::setDefaultFormat(ImGuiWidget::surfaceFormat()); }

 private slots:
  void init() {
    tmp_ = std::make_unique<QTemporaryDir>();
    QVERIFY(tmp_->isValid());
    roots_ = ModelRoots{};
    roots_.hfCache = tmp_->filePath(QStringLiteral("hub")).toStdString();
    roots_.studioModels = tmp_->filePath(QStringLiteral("studio/models")).toStdString();
    roots_.bundledDirs = {tmp_->filePath(QStringLiteral("resources/default-model")).toStdString()};  // absent
  }

  void findsACachedSnapshotShowsDetailsAndSelects() {
    const QString model = tmp_->filePath(QStringLiteral("random"));
    writeRandomModel(model, tinyGpt2Config(256), 3);
    addToCache(roots_.hfCache, "models--tiny-org--tiny-bigbird", model.toStdString());
    TaskManager tasks;
    ModelManager mm(&tasks, roots_);
    QCOMPARE(int(mm.entries().size()), 1);  // the absent bundled model is simply not listed
    const ModelEntry& e = mm.entries()[0];
    QCOMPARE(e.name, std::string("tiny-org/tiny-bigbird"));
    QCOMPARE(e.revision, std::string("main"));
    QCOMPARE(int(e.source), int(ModelSource::HfCache));
    QVERIFY(e.hasConfig);
    QVERIFY(e.bytes > 1000000);  // symlinks followed: the blobs' sizes
    QCOMPARE(mm.list()->topLevelItem(0)->text(2), QStringLiteral("HF cache"));

    QSignalSpy details(&mm, &ModelManager::detailsReady);
    mm.select(0);
    QVERIFY(tasks.waitForIdle(10000));
    QCOMPARE(details.count(), 1);
    QVERIFY(details.at(0).at(0).toBool());
    const QString text = mm.detailsText();
    const std::string arch = bb::io::expected_parameters(bb::load_config(e.path + "/config.json")).architecture;
    QVERIFY2(text.contains(QStringLiteral("Architecture: ") + QString::fromStdString(arch)) && text.contains(QStringLiteral("2 layers, hidden 64")) &&
                 text.contains(QStringLiteral("Memory")) && text.contains(QStringLiteral("safetensors")),
             qPrintable(text));

    QSignalSpy current(&mm, &ModelManager::currentModelChanged);
    mm.useSelected();
    QCOMPARE(current.count(), 1);
    QCOMPARE(current.at(0).at(0).toString(), QString::fromStdString(e.path));
    QCOMPARE(bb::BigBirdModel::load(e.path).config().hidden_size, 64);

    // Deleting the only snapshot removes the repo from the cache; "no" first leaves it alone.
    mm.setConfirm([](const QString&) { return false; });
    QVERIFY(!mm.deleteSelected());
    QVERIFY(fs::exists(e.path));
    mm.setConfirm([](const QString& q) { return q.contains(QStringLiteral("tiny-org/tiny-bigbird")); });
    QVERIFY(mm.deleteSelected());
    QVERIFY(!fs::exists(roots_.hfCache + "/models--tiny-org--tiny-bigbird"));
    QCOMPARE(int(mm.entries().size()), 0);
  }

  void bundledModelIsListedButNotDeletable() {
    const QString bundled = tmp_->filePath(QStringLiteral("resources/default-model"));
    writeRandomModel(bundled, tinyGpt2Config(256), 4);
    TaskManager tasks;
    ModelManager mm(&tasks, roots_);
    QCOMPARE(int(mm.entries().size()), 1);
    QCOMPARE(int(mm.entries()[0].source), int(ModelSource::Bundled));
    mm.select(0);
    mm.setConfirm([](const QString&) { return true; });
    QVERIFY(!mm.deleteSelected());
    QVERIFY(mm.errorText().contains(QStringLiteral("bundled")));
    QVERIFY(QFile::exists(bundled + QStringLiteral("/model.safetensors")));
    QVERIFY(tasks.waitForIdle(10000));
  }

  void importsTheTinyPyTorchCheckpointAndDeletesIt() {
    const QString src = tmp_->filePath(QStringLiteral("tiny-torch"));
    QVERIFY(QDir().mkpath(src));
    QFile cfg(src + QStringLiteral("/config.json"));
    QVERIFY(cfg.open(QIODevice::WriteOnly));
    cfg.write(kTinyConfig);
    cfg.close();
    const QString bin = src + QStringLiteral("/pytorch_model.bin");
    QVERIFY(QFile::copy(QStringLiteral(BIGBIRD_TEST_DATA "/checkpoints/pytorch/generated_torch_1.13.1/tiny_bigbird_state_dict_zip.bin"), bin));

    TaskManager tasks;
    ModelManager mm(&tasks, roots_);
    QCOMPARE(int(mm.entries().size()), 0);
    QSignalSpy imported(&mm, &ModelManager::imported);
    mm.importFrom(src);
    QVERIFY(tasks.waitForIdle(20000));
    QVERIFY2(imported.count() == 1, qPrintable(mm.errorText()));
    const QString dir = imported.at(0).at(0).toString();
    QCOMPARE(dir, QString::fromStdString(roots_.studioModels) + QStringLiteral("/tiny-torch"));
    QVERIFY(QFile::exists(dir + QStringLiteral("/model.safetensors")));
    QVERIFY(mm.selected() && mm.selected()->path == dir.toStdString());
    QCOMPARE(int(mm.selected()->source), int(ModelSource::Studio));
    QVERIFY(tasks.waitForIdle(10000));  // the details of the new selection
    QVERIFY2(mm.detailsText().contains(QStringLiteral("Format: safetensors")), qPrintable(mm.detailsText()));
    // The imported copy computes what the original does.
    const bb::BigBirdModel a = bb::BigBirdModel::load(src.toStdString()), b = bb::BigBirdModel::load(dir.toStdString());
    QCOMPARE(a.config().hidden_size, b.config().hidden_size);

    // The weights file itself (config.json beside it) imports too, under a fresh name.
    mm.importFrom(bin);
    QVERIFY(tasks.waitForIdle(20000));
    QCOMPARE(imported.count(), 2);
    QVERIFY(imported.at(1).at(0).toString().endsWith(QStringLiteral("/tiny-torch-2")));

    // A file without a config.json beside it: the engine's reason, nothing created.
    const QString lonely = tmp_->filePath(QStringLiteral("lonely"));
    QVERIFY(QDir().mkpath(lonely));
    QVERIFY(QFile::copy(bin, lonely + QStringLiteral("/weights.bin")));
    QSignalSpy failed(&mm, &ModelManager::failed);
    mm.importFrom(lonely + QStringLiteral("/weights.bin"));
    QVERIFY(tasks.waitForIdle(20000));
    QCOMPARE(failed.count(), 1);
    QVERIFY2(mm.errorText().contains(QStringLiteral("config.json")), qPrintable(mm.errorText()));
    QCOMPARE(int(mm.entries().size()), 2);

    mm.select(mm.indexOfPath(dir));
    mm.setConfirm([](const QString&) { return true; });
    QVERIFY(mm.deleteSelected());
    QVERIFY(!QFileInfo::exists(dir));
    QCOMPARE(int(mm.entries().size()), 1);
  }

  void mainWindowHasTheDocksAndFollowsTheCurrentModel() {
    const QString model = tmp_->filePath(QStringLiteral("current"));
    writeRandomModel(model, tinyGpt2Config(256), 8);
    MainWindow w;
    QVERIFY(w.modelManager() && w.finetuneDashboard());
    QVERIFY(w.dock(MainWindow::kModels) && w.dock(MainWindow::kFinetune));
    QSignalSpy current(&w, &MainWindow::currentModelChanged);
    emit w.modelManager()->currentModelChanged(model);  // what "Use this model" sends
    QCOMPARE(current.count(), 1);
    QCOMPARE(w.currentModel(), model);
    QVERIFY(w.tasks()->waitForIdle(20000));
    QVERIFY(w.session()->model());  // the Attention Lab loaded it
    QCOMPARE(w.finetuneDashboard()->modelDir(), model);  // and fine-tuning starts from it
  }

  void downloadsFromTheHubWithProgressCancelAndResume() {
    const QString model = tmp_->filePath(QStringLiteral("served"));
    writeRandomModel(model, tinyGpt2Config(256), 7);
    FakeHub hub("tiny-org/served");
    hub.files["config.json"] = {readAll((model + QStringLiteral("/config.json")).toStdString()), false};
    hub.files["model.safetensors"] = {readAll((model + QStringLiteral("/model.safetensors")).toStdString()), true};
    hub.files["README.md"] = {"# served\n", false};
    qputenv("HF_ENDPOINT", QByteArray::fromStdString(hub.url()));
    qputenv("HF_TOKEN", "");

    TaskManager tasks;
    ModelManager mm(&tasks, roots_);
    QSignalSpy finished(&mm, &ModelManager::downloadFinished);
    QSignalSpy progress(&tasks, &TaskManager::taskProgress);

    // Cancel mid-way: the transfer stops at its next chunk.
    hub.slow = true;
    mm.download(QStringLiteral("tiny-org/served"));
    QVERIFY(mm.downloading());
    QTRY_VERIFY_WITH_TIMEOUT(mm.downloadProgress() > 0.0, 20000);
    mm.cancelDownload();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 10000);
    QCOMPARE(finished.at(0).at(0).toBool(), false);
    QCOMPARE(finished.at(0).at(1).toString(), QStringLiteral("cancelled"));
    QVERIFY(!mm.downloading());
    QVERIFY(tasks.waitForIdle(10000));
    const std::string snapshot = roots_.hfCache + "/models--tiny-org--served/snapshots/" + kCommit;
    QVERIFY(!fs::exists(snapshot + "/model.safetensors"));  // never linked before it is complete and verified

    // Again at full speed: resumes, verifies and lands in the cache; the list shows it.
    hub.slow = false;
    progress.clear();
    mm.download(QStringLiteral("tiny-org/served"));
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 30000);
    QVERIFY2(finished.at(1).at(0).toBool(), qPrintable(finished.at(1).at(1).toString()));
    QVERIFY(progress.count() > 0);
    QCOMPARE(mm.downloadProgress(), 1.0);
    QCOMPARE(finished.at(1).at(1).toString(), QString::fromStdString(snapshot));
    QVERIFY(fs::is_symlink(snapshot + "/model.safetensors"));
    QCOMPARE(readAll(snapshot + "/model.safetensors"), hub.files["model.safetensors"].first);
    QVERIFY(!fs::exists(snapshot + "/README.md"));
    QCOMPARE(int(mm.entries().size()), 1);
    QVERIFY(mm.selected() && mm.selected()->path == snapshot);
    QVERIFY(tasks.waitForIdle(10000));

    // A repository the hub does not have: the engine's one-line error.
    mm.download(QStringLiteral("tiny-org/missing"));
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 3, 30000);
    QCOMPARE(finished.at(2).at(0).toBool(), false);
    QVERIFY2(mm.errorText().contains(QStringLiteral("tiny-org/missing")), qPrintable(mm.errorText()));
    mm.download(QStringLiteral("not a repo id"));
    QVERIFY(mm.errorText().contains(QStringLiteral("not a hub model id")));
    qunsetenv("HF_ENDPOINT");
  }

 private:
  std::unique_ptr<QTemporaryDir> tmp_;
  ModelRoots roots_;
};

QTEST_MAIN(TstModelManager)
#include "tst_model_manager.moc"
