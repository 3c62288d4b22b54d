// Remote runs from the desktop against a real runner on loopback (bb::remote::Server with the real
// bigbird binary as its worker): the Documents panel summarizes on the runner and gets the same
// summary as a local run; the fine-tuning dashboard runs a remote fine-tune to the end with plot
// points and the fine-tuned model comes back into Studio's models folder and loads; cancelling a
// remote fine-tune mid-job cancels it on the runner. Remote work is a task manager task.
#include <QDir>
#include <QComboBox>
#include <QFile>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QSpinBox>
#include <QSignalSpy>
#include <QSurfaceFormat>
#include <QTemporaryDir>
#include <QtTest>
#include <memory>

#include "engine/io/atomic_file.h"
#include "engine/io/safetensors.h"
#include "engine/models/bigbird_model.h"
#include "engine/models/config.h"
#include "engine/models/pegasus_random_weights.h"
#include "engine/remote/client.h"
#include "engine/remote/server.h"
#include "ui/documents/documents_panel.h"
#include "ui/finetune/finetune_dashboard.h"
#include "ui/imgui_widget.h"
#include "ui/lab_random_model.h"
#include "ui/task_manager.h"

using namespace bb::ui;

namespace {

const char* kToken = "remote-jobs-ui-token-0123456789abcdef";

void writeFile(const QString& path, const QByteArray& bytes) {
  QFile f(path);
  QVERIFY(f.open(QIODevice::WriteOnly));
  f.write(bytes);
}

void writeTinyPegasus(const QString& dir) {
  QDir().mkpath(dir);
  const bb::ModelConfig c = bb::pegasus_shape_config("pegasus-tiny");
  bb::io::write_file_atomic(dir.toStdString() + "/config.json", bb::config_to_json(c));
  const bb::ParameterStore params = bb::random_pegasus_parameters(c, 7);
  bb::io::SafetensorsWriter w;
  for (const std::string& n : params.names()) w.add(n, params.get(n));
  w.write(dir.toStdString() + "/model.safetensors");
}

// The dashboard test's toy sentiment data and a model whose WordPiece vocabulary is just its words.
QByteArray syntheticCsv(int rows) {
  const QStringList pos = {"excellent", "wonderful", "brilliant", "great", "superb", "lovely"};
  const QStringList neg = {"terrible", "awful", "boring", "dreadful", "poor", "dull"};
  const QStringList filler = {"the", "movie", "was", "a", "story", "about", "people"};
  QByteArray csv = "text,label\n";
  for (int r = 0; r < rows; ++r) {
    const bool p = r % 2 == 0;
    QStringList words;
    for (int i = 0; i < 8 + r % 5; ++i) words << ((i + r) % 2 ? (p ? pos : neg)[(i * 7 + r) % 6] : filler[(i + r) % 7]);
    csv += "\"" + words.join(' ').toUtf8() + "\"," + (p ? "positive" : "negative") + "\n";
  }
  return csv;
}

void writeSmallVocabModel(const QString& dir) {
  QStringList vocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  for (const char* w : {"excellent", "wonderful", "brilliant", "great", "superb", "lovely", "terrible", "awful", "boring",
                        "dreadful", "poor", "dull", "the", "movie", "was", "a", "story", "about", "people"})
    vocab << QString::fromLatin1(w);
  bb::ModelConfig c = tinyGpt2Config(256);
  c.vocab_size = vocab.size();
  c.sep_token_id = 3;
  writeRandomModel(dir, c, 6);
  writeFile(dir + QStringLiteral("/vocab.txt"), (vocab.join('\n') + '\n').toUtf8());
}

}  // namespace

class TstRemoteJobs : public QObject {
  Q_OBJECT

 public:
  static void initMain() {
    QSurfaceFormat::setDefaultFormat(ImGuiWidget::surfaceFormat());
    qputenv("XDG_DATA_HOME", QDir::temp().filePath(QStringLiteral("bigbird-remote-jobs-test-data")).toUtf8());
    qputenv("XDG_CONFIG_HOME", QDir::temp().filePath(QStringLiteral("bigbird-remote-jobs-test-config")).toUtf8());
  }

 private slots:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    QDir(QDir::temp().filePath(QStringLiteral("bigbird-remote-jobs-test-data"))).removeRecursively();  // earlier runs' models
    bb::remote::ServerOptions o;
    o.port = 0;
    o.token = kToken;
    o.state_dir = tmp_.filePath(QStringLiteral("state")).toStdString();
    o.worker.bigbird_executable = BIGBIRD_CLI;
    o.rate_per_s = 0;
    server_ = std::make_unique<bb::remote::Server>(o);
    server_->start();
    runner_ = {"loopback", server_->url(), kToken, ""};
  }
  void cleanupTestCase() {
    if (server_) server_->stop();
  }

  void summaryOnTheRunnerMatchesTheLocalOne() {
    const QString pegasus = tmp_.filePath(QStringLiteral("tiny-pegasus"));
    writeTinyPegasus(pegasus);
    TaskManager tasks;
    documents::DocumentsPanel panel(&tasks, false);
    panel.setSummaryModelDir(pegasus);
    QVERIFY(tasks.waitForIdle(60000));
    QVERIFY2(panel.summaryModel(), qPrintable(panel.errorText()));
    panel.openText(QStringLiteral("Doc"),
                   QStringLiteral("BigBird is a sparse-attention transformer. It reads long documents. Global tokens see "
                                  "everything.\nRandom blocks connect distant parts. The window covers neighbours."));
    QVERIFY(tasks.waitForIdle(60000));
    documents::SummarySettings s = panel.summarySettings();
    s.beams = 2;
    s.maxLength = 12;
    s.minLength = 6;
    panel.setSummarySettings(s);
    QSignalSpy finished(&panel, &documents::DocumentsPanel::summaryFinished);
    panel.summarize();
    QVERIFY(tasks.waitForIdle(60000));
    QVERIFY2(finished.size() == 1 && finished[0][0].toBool(), qPrintable(panel.summaryStatus()));
    const std::string local = panel.currentSummary()->result.summary;
    const std::vector<int64_t> localIds = panel.currentSummary()->result.chunks.at(0).summary_ids;
    QVERIFY(!local.empty());

    panel.setRunners({runner_});
    QCOMPARE(panel.runOnBox()->count(), 2);
    panel.runOnBox()->setCurrentIndex(1);
    QStringList titles, details;
    connect(&tasks, &TaskManager::taskStarted, this, [&](int, const QString& title) { titles << title; });
    connect(&tasks, &TaskManager::taskProgress, this, [&](int, double, const QString& detail) { details << detail; });
    panel.summarize();
    QVERIFY(panel.summarizing());
    QVERIFY(tasks.waitForIdle(60000));
    QCOMPARE(finished.size(), 2);
    QVERIFY2(finished[1][0].toBool(), qPrintable(finished[1][1].toString()));
    QCOMPARE(QString::fromStdString(panel.currentSummary()->result.summary), QString::fromStdString(local));
    QCOMPARE(panel.summaryView()->toPlainText(), QString::fromStdString(local));
    QCOMPARE(panel.currentSummary()->result.chunks.size(), size_t(1));
    QCOMPARE(panel.currentSummary()->result.chunks[0].summary_ids, localIds);
    QVERIFY(panel.currentSummary()->result.generated_tokens > 0);
    QCOMPARE(panel.history().size(), size_t(2));
    // The run was a task like a local one, with the runner's progress events in its details.
    QVERIFY2(titles.contains(QStringLiteral("Summarizing Doc on loopback")), qPrintable(titles.join(" | ")));
    QVERIFY2(details.filter(QStringLiteral("loopback: generating")).size() > 0, qPrintable(details.join(" | ")));
    bb::remote::Client client({server_->url(), kToken, ""});
    const nlohmann::json jobs = client.jobs();
    QCOMPARE(int(jobs.size()), 1);
    QCOMPARE(QString::fromStdString(jobs[0]["state"].get<std::string>()), QStringLiteral("succeeded"));
  }

  void fineTuneOnTheRunnerComesBack() {
    const QString model = tmp_.filePath(QStringLiteral("small-vocab"));
    writeSmallVocabModel(model);
    const QString csv = tmp_.filePath(QStringLiteral("train.csv"));
    writeFile(csv, syntheticCsv(48));
    TaskManager tasks;
    FinetuneDashboard d(&tasks);
    d.setTask(bb::train::Task::Classification);
    d.setModelDir(model);
    d.setTrainFile(csv);
    d.setOutDir(tmp_.filePath(QStringLiteral("run-ok")));
    d.maxLengthBox()->setValue(64);
    d.batchBox()->setValue(4);
    d.stepsBox()->setValue(6);
    d.evalEveryBox()->setValue(3);
    d.setRunners({runner_});
    QCOMPARE(d.backendBox()->itemText(2), QStringLiteral("Remote: loopback"));
    d.backendBox()->setCurrentIndex(2);
    QSignalSpy finished(&d, &FinetuneDashboard::jobFinished);
    QSignalSpy exported(&d, &FinetuneDashboard::modelExported);
    QVERIFY2(d.start(), qPrintable(d.errorText()));
    QVERIFY(d.running());
    QVERIFY(finished.wait(120000));
    QVERIFY2(finished[0][0].toInt() == int(bb::jobs::JobState::Finished), qPrintable(d.errorText()));
    QVERIFY(!d.running());
    QCOMPARE(int(d.series().loss.size()), 6);  // one plot point per step, from the runner's events
    QCOMPARE(d.series().loss.back().step, 6.0);
    QVERIFY(!d.series().eval.empty());
    QCOMPARE(exported.size(), 1);
    const QString back = d.remoteModelDir();
    QCOMPARE(exported[0][0].toString(), back);
    QVERIFY2(back.startsWith(QDir::temp().filePath(QStringLiteral("bigbird-remote-jobs-test-data"))), qPrintable(back));
    QVERIFY(QFile::exists(back + QStringLiteral("/model.safetensors")));
    const bb::BigBirdModel loaded = bb::BigBirdModel::load(back.toStdString());
    QCOMPARE(loaded.config().vocab_size, int64_t(24));
    QVERIFY(tasks.waitForIdle(10000));
  }

  void cancellingStopsTheRunnersJob() {
    const QString model = tmp_.filePath(QStringLiteral("small-vocab"));
    const QString csv = tmp_.filePath(QStringLiteral("train.csv"));
    QVERIFY(QFile::exists(csv));  // from the test before
    TaskManager tasks;
    FinetuneDashboard d(&tasks);
    d.setTask(bb::train::Task::Classification);
    d.setModelDir(model);
    d.setTrainFile(csv);
    d.setOutDir(tmp_.filePath(QStringLiteral("run-cancel")));
    d.maxLengthBox()->setValue(64);
    d.batchBox()->setValue(4);
    d.stepsBox()->setValue(200000);  // hours: only a cancel ends it within the test
    d.setRunners({runner_});
    d.backendBox()->setCurrentIndex(2);
    QSignalSpy finished(&d, &FinetuneDashboard::jobFinished);
    QVERIFY2(d.start(), qPrintable(d.errorText()));
    QTRY_VERIFY_WITH_TIMEOUT(!d.series().loss.empty(), 60000);
    d.cancel();
    QVERIFY(finished.wait(30000));
    QCOMPARE(finished[0][0].toInt(), int(bb::jobs::JobState::Cancelled));
    QVERIFY(d.remoteModelDir().isEmpty());
    bb::remote::Client client({server_->url(), kToken, ""});
    const nlohmann::json jobs = client.jobs();
    QCOMPARE(QString::fromStdString(jobs.back()["state"].get<std::string>()), QStringLiteral("cancelled"));
    const nlohmann::json steps = jobs.back()["spec"]["params"]["steps"];  // the runner may keep it as text
    QVERIFY2(steps == 200000 || steps == "200000", steps.dump().c_str());
  }

 private:
  QTemporaryDir tmp_;
  std::unique_ptr<bb::remote::Server> server_;
  bb::remote::SavedRunner runner_;
};

QTEST_MAIN(TstRemoteJobs)
#include "tst_remote_jobs.moc"
