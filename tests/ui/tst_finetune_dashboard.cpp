// The fine-tuning dashboard driven like a user, under Xvfb, on a tiny random-weight model and a
// small synthetic dataset: recipe defaults, the engine's error for a bad dataset (in the check and
// in a started run), a run to the end with live plots, checkpoints and an HF export, and pause /
// resume / cancel / resume-from-checkpoint — all while the UI thread keeps turning.
#include <QComboBox>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QLineEdit>
#include <QSpinBox>
#include <QStandardItemModel>
#include <QSurfaceFormat>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTimer>
#include <QTreeWidget>
#include <QtTest>
#include <set>

#include "engine/models/bigbird_model.h"
#include "ui/finetune/finetune_dashboard.h"
#include "ui/finetune/training_plots_view.h"
#include "ui/imgui_widget.h"
#include "ui/lab_random_model.h"
#include "ui/task_manager.h"

using namespace bb::ui;
constexpr int kSteps = 300;

namespace {

void writeFile(const QString& path, const QByteArray& bytes) {
  QFile f(path);
  QVERIFY(f.open(QIODevice::WriteOnly));
  f.write(bytes);
}

// Two classes told apart by their cue words (the engine tests' toy sentiment task, smaller).
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

// A model with a WordPiece vocabulary of just the dataset's words: steps and checkpoints take
// milliseconds, so a long run can be paused, resumed, cancelled and resumed within a second or two.
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

class TstFinetuneDashboard : public QObject {
  Q_OBJECT

 public:
  static void initMain() {
    QSurfaceFormat::setDefaultFormat(ImGuiWidget::surfaceFormat());
    qputenv("XDG_DATA_HOME", QDir::temp().filePath(QStringLiteral("bigbird-finetune-test-data")).toUtf8());
  }

 private slots:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    modelDir_ = tmp_.filePath(QStringLiteral("model"));
    writeRandomModel(modelDir_, tinyGpt2Config(256), 5);
    trainCsv_ = tmp_.filePath(QStringLiteral("train.csv"));
    writeFile(trainCsv_, syntheticCsv(48));
  }

  void recipeDefaultsAndBackends() {
    TaskManager tasks;
    FinetuneDashboard d(&tasks);
    d.setTask(bb::train::Task::Classification);
    d.setModelDir(modelDir_);
    d.setTrainFile(trainCsv_);
    QCOMPARE(d.lrEdit()->text(), QStringLiteral("1e-05"));       // BigBird IMDb recipe
    QCOMPARE(d.maxLengthBox()->value(), 256);                      // 4096 capped by the model
    d.setTask(bb::train::Task::QuestionAnswering);
    QCOMPARE(d.lrEdit()->text(), QStringLiteral("3e-05"));       // KoBigBird QA recipe
    const bb::train::TrainerConfig qa = d.trainerConfig(false);
    QCOMPARE(qa.max_grad_norm, 1.0);
    QCOMPARE(int(qa.optimizer.kind), int(bb::train::OptimizerKind::AdamW));
    auto* backends = qobject_cast<QStandardItemModel*>(d.backendBox()->model());
    QVERIFY(backends->item(0)->isEnabled());  // this computer, on the compute backend setting
    QVERIFY(backends->item(0)->toolTip().contains(QStringLiteral("Compute Backend")));
    QVERIFY(backends->item(1)->isEnabled());  // this computer, CPU only
    QVERIFY(!backends->item(2)->isEnabled());  // "Remote" until a runner is saved
    QVERIFY(!backends->item(2)->toolTip().isEmpty());
  }

  void summarizationDataIsPreviewedAndNeedsPegasus() {
    TaskManager tasks;
    FinetuneDashboard d(&tasks);
    d.setTask(bb::train::Task::Summarization);
    d.setModelDir(modelDir_);  // an encoder: the check says so, after showing the pairs
    const QString jsonl = tmp_.filePath(QStringLiteral("pairs.jsonl"));
    writeFile(jsonl, "{\"document\": \"The long report.\", \"summary\": \"Short.\"}\n"
                     "{\"document\": \"Another document.\", \"summary\": \"Brief.\"}\n");
    d.setTrainFile(jsonl);
    d.checkDataset();
    QVERIFY(tasks.waitForIdle(20000));
    QCOMPARE(d.previewTable()->rowCount(), 2);
    QCOMPARE(d.previewTable()->item(1, 2)->text(), QStringLiteral("Brief."));
    QVERIFY2(d.datasetMessage().contains(QStringLiteral("BigBird-Pegasus")), qPrintable(d.datasetMessage()));
    // A pair without a summary: the engine's error with its line.
    writeFile(jsonl, "{\"document\": \"The long report.\", \"summary\": \"\"}\n");
    d.checkDataset();
    QVERIFY(tasks.waitForIdle(20000));
    QVERIFY2(d.datasetMessage().contains(QStringLiteral("pairs.jsonl")), qPrintable(d.datasetMessage()));
    QCOMPARE(d.previewTable()->rowCount(), 0);
  }

  void badDatasetShowsTheEngineError() {
    TaskManager tasks;
    FinetuneDashboard d(&tasks);
    d.setModelDir(modelDir_);
    const QString bad = tmp_.filePath(QStringLiteral("bad.csv"));
    writeFile(bad, "text,sentiment\n\"fine film\",positive\n");
    d.setTrainFile(bad);
    d.setOutDir(tmp_.filePath(QStringLiteral("bad-out")));
    QSignalSpy checked(&d, &FinetuneDashboard::datasetChecked);
    d.checkDataset();
    QVERIFY(tasks.waitForIdle(20000));
    QCOMPARE(checked.count(), 1);
    QCOMPARE(checked.at(0).at(0).toBool(), false);
    const QString error = QString::fromStdString(d.lastCheck().error);
    QVERIFY2(error.contains(QStringLiteral("bad.csv")) && error.contains(QStringLiteral("label")), qPrintable(error));
    QCOMPARE(d.datasetMessage(), error);  // shown as the engine wrote it

    // Starting anyway: the run fails with the same message, and the dashboard shows it.
    QSignalSpy finished(&d, &FinetuneDashboard::jobFinished);
    QVERIFY(d.start());
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 20000);
    QCOMPARE(finished.at(0).at(0).toInt(), int(bb::jobs::JobState::Failed));
    QCOMPARE(d.errorText(), error);

    // A file that does not parse at all (an unterminated quote) is refused with its line.
    writeFile(bad, "text,label\n\"never closed,positive\n");
    d.checkDataset();
    QVERIFY(tasks.waitForIdle(20000));
    QVERIFY2(!d.lastCheck().ok() && d.datasetMessage().contains(QStringLiteral("bad.csv")), qPrintable(d.datasetMessage()));
  }

  void runsToTheEndWithPlotsCheckpointsAndExport() {
    TaskManager tasks;
    FinetuneDashboard d(&tasks);
    d.resize(1400, 900);
    d.show();
    QVERIFY(QTest::qWaitForWindowExposed(&d));
    d.setModelDir(modelDir_);
    d.setTrainFile(trainCsv_);
    const QString out = tmp_.filePath(QStringLiteral("run1"));
    d.setOutDir(out);
    d.maxLengthBox()->setValue(32);
    d.batchBox()->setValue(4);
    d.stepsBox()->setValue(6);
    d.evalEveryBox()->setValue(3);
    d.saveEveryBox()->setValue(3);
    d.lrEdit()->setText(QStringLiteral("1e-3"));

    d.checkDataset();
    QVERIFY(tasks.waitForIdle(20000));
    QVERIFY2(d.lastCheck().ok(), d.lastCheck().error.c_str());
    QCOMPARE(d.previewTable()->rowCount(), kPreviewRows);
    QCOMPARE(d.previewTable()->horizontalHeaderItem(1)->text(), QStringLiteral("text"));
    QVERIFY(d.previewTable()->item(0, 2)->text() == QStringLiteral("positive"));
    QCOMPARE(d.lastCheck().trainExamples + d.lastCheck().evalExamples, 48);
    QVERIFY2(d.estimateText().contains(QStringLiteral("6 steps")) && d.estimateText().contains(QStringLiteral("peak memory")),
             qPrintable(d.estimateText()));

    // The UI thread keeps turning while the job trains.
    int ticks = 0;
    QTimer ticker;
    connect(&ticker, &QTimer::timeout, [&] { ++ticks; });
    ticker.start(20);
    QSignalSpy finished(&d, &FinetuneDashboard::jobFinished);
    QElapsedTimer clock;
    clock.start();
    QVERIFY(d.start());
    QVERIFY2(clock.elapsed() < 200, "start() must return at once");
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
    QVERIFY2(*d.state() == bb::jobs::JobState::Finished, qPrintable(d.errorText()));
    QVERIFY(ticks > 3);

    const TrainingSeries& s = d.series();
    QCOMPARE(int(s.loss.size()), 6);
    QCOMPARE(int(s.lr.size()), 6);
    QCOMPARE(s.loss.back().step, 6.0);
    for (const SeriesPoint& p : s.throughput) QVERIFY(p.value > 0);
    QVERIFY(s.eval.count("eval_accuracy"));
    QCOMPARE(int(s.eval.at("eval_accuracy").size()), 2);  // step 3 and the end

    // The plots draw every point they received.
    if (d.plotsWidget()) {
      d.plotsWidget()->requestFrames(3);
      QTRY_VERIFY_WITH_TIMEOUT(d.plotsView()->pointsDrawn() == 6 * 3 + 2 * int(s.eval.size()), 5000);
    }

    // Checkpoints at steps 3 and 6 and the final model; the export loads as an HF directory.
    QTreeWidget* list = d.checkpointList();
    QCOMPARE(list->topLevelItemCount(), 3);
    QCOMPARE(list->topLevelItem(0)->text(1), QStringLiteral("3"));
    QVERIFY(list->topLevelItem(1)->text(0).contains(QStringLiteral("latest")));
    QCOMPARE(list->topLevelItem(2)->text(0), QStringLiteral("final model"));
    const QString exported = tmp_.filePath(QStringLiteral("exported"));
    QSignalSpy exportedSpy(&d, &FinetuneDashboard::modelExported);
    d.exportTo(list->topLevelItem(0)->data(0, Qt::UserRole).toString(), exported);
    QCOMPARE(exportedSpy.count(), 1);
    for (const char* f : {"config.json", "model.safetensors", "spiece.model"})
      QVERIFY2(QFile::exists(exported + QLatin1Char('/') + QLatin1String(f)), f);
    const bb::BigBirdModel m = bb::BigBirdModel::load(exported.toStdString());
    QCOMPARE(m.config().num_labels(), 2);
  }

  void pauseResumeCancelAndResumeFromCheckpoint() {
    const QString small = tmp_.filePath(QStringLiteral("small-vocab"));
    writeSmallVocabModel(small);
    TaskManager tasks;
    FinetuneDashboard d(&tasks);
    d.setModelDir(small);
    d.setTrainFile(trainCsv_);
    const QString out = tmp_.filePath(QStringLiteral("run2"));
    d.setOutDir(out);
    d.maxLengthBox()->setValue(32);
    d.batchBox()->setValue(4);
    d.stepsBox()->setValue(kSteps);
    d.saveEveryBox()->setValue(10);
    QSignalSpy finished(&d, &FinetuneDashboard::jobFinished);
    QVERIFY(d.start());
    QTRY_VERIFY_WITH_TIMEOUT(d.series().loss.size() >= 3, 30000);

    d.pause();
    QTRY_VERIFY_WITH_TIMEOUT(d.state() == bb::jobs::JobState::Paused, 10000);
    // The Paused event comes after every step event: once it is shown, the plots have them all.
    QTRY_VERIFY_WITH_TIMEOUT(d.statusText().startsWith(QStringLiteral("Paused")), 10000);
    const size_t pausedAt = d.series().loss.size();
    QTest::qWait(300);
    QCOMPARE(d.series().loss.size(), pausedAt);  // no steps while paused
    d.resume();
    QTRY_VERIFY_WITH_TIMEOUT(d.series().loss.size() > pausedAt + 2, 30000);

    d.cancel();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 30000);
    QCOMPARE(finished.at(0).at(0).toInt(), int(bb::jobs::JobState::Cancelled));
    const double stoppedAt = d.series().loss.back().step;
    QVERIFY(stoppedAt < kSteps);
    QVERIFY(d.checkpointList()->topLevelItemCount() >= 1);

    // Resume: from the latest checkpoint (an even step), the plots continue from there to the end.
    QVERIFY(d.resumeFromCheckpoint());
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 60000);
    QVERIFY2(finished.at(1).at(0).toInt() == int(bb::jobs::JobState::Finished), qPrintable(d.errorText()));
    const TrainingSeries& s = d.series();
    QCOMPARE(int(s.loss.size()), kSteps);
    std::set<double> steps;
    for (const SeriesPoint& p : s.loss) steps.insert(p.step);
    QCOMPARE(int(steps.size()), kSteps);  // each step once: the points after the checkpoint were redrawn, not doubled
    QCOMPARE(*steps.rbegin(), double(kSteps));
  }

  void cleanupTestCase() { QDir(QDir::temp().filePath(QStringLiteral("bigbird-finetune-test-data"))).removeRecursively(); }

 private:
  QTemporaryDir tmp_;
  QString modelDir_, trainCsv_;
};

QTEST_MAIN(TstFinetuneDashboard)
#include "tst_finetune_dashboard.moc"
