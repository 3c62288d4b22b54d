// The task manager: work runs on its worker thread, results are applied on the UI thread, progress
// arrives, cancel stops a task, a newer task of the same group replaces the older one, errors
// become one line, and the UI thread keeps running events while a task works.
#include <QElapsedTimer>
#include <QThread>
#include <QTimer>
#include <QtTest>
#include <atomic>
#include <stdexcept>

#include "engine/core/error.h"
#include "ui/task_manager.h"

using bb::ui::TaskContext;
using bb::ui::TaskManager;

class TstTaskManager : public QObject {
  Q_OBJECT

 private slots:
  void workRunsOnTheWorkerAndFinishesOnTheUiThread() {
    TaskManager tm;
    QThread* ui = QThread::currentThread();
    QThread* workThread = nullptr;
    QThread* finishThread = nullptr;
    int value = 0;
    QSignalSpy finished(&tm, &TaskManager::taskFinished);
    tm.submit("g", "compute", [&](TaskContext& ctx) {
      workThread = QThread::currentThread();
      ctx.setProgress(0.5, "half");
      const int v = 6 * 7;
      return TaskManager::Finish([&, v] {
        finishThread = QThread::currentThread();
        value = v;
      });
    });
    QVERIFY(tm.waitForIdle(5000));
    QVERIFY(workThread && workThread != ui);
    QCOMPARE(finishThread, ui);
    QCOMPARE(value, 42);
    QCOMPARE(finished.count(), 1);
    QCOMPARE(finished.at(0).at(2).toBool(), true);
  }

  void progressIsReported() {
    TaskManager tm;
    QSignalSpy progress(&tm, &TaskManager::taskProgress);
    tm.submit("g", "steps", [](TaskContext& ctx) {
      for (int i = 1; i <= 4; ++i) ctx.setProgress(i / 4.0, QString("step %1").arg(i));
      return TaskManager::Finish{};
    });
    QVERIFY(tm.waitForIdle(5000));
    QTRY_COMPARE(progress.count(), 4);
    QCOMPARE(progress.last().at(1).toDouble(), 1.0);
    QCOMPARE(progress.last().at(2).toString(), QString("step 4"));
  }

  void cancelStopsARunningTaskAndDropsItsResult() {
    TaskManager tm;
    std::atomic<bool> started{false};
    bool applied = false;
    QSignalSpy finished(&tm, &TaskManager::taskFinished);
    const int id = tm.submit("g", "long", [&](TaskContext& ctx) {
      started = true;
      for (;;) {
        ctx.checkCancelled();
        QThread::msleep(1);
      }
      return TaskManager::Finish([&] { applied = true; });
    });
    QTRY_VERIFY(started.load());
    QVERIFY(tm.busy());
    tm.cancel(id);
    QVERIFY(tm.waitForIdle(5000));
    QVERIFY(!applied);
    QCOMPARE(finished.count(), 1);
    QCOMPARE(finished.at(0).at(2).toBool(), false);
    QCOMPARE(finished.at(0).at(3).toString(), QString("cancelled"));
  }

  void newerTaskOfAGroupReplacesTheOlder() {
    TaskManager tm;
    std::atomic<bool> release{false}, running{false};
    QStringList applied;
    tm.submit("blocker", "block", [&](TaskContext& ctx) {
      running = true;
      while (!release) {
        ctx.checkCancelled();
        QThread::msleep(1);
      }
      return TaskManager::Finish{};
    });
    QTRY_VERIFY(running.load());
    for (const char* name : {"a", "b", "c"})
      tm.submit("g", name, [&applied, name](TaskContext&) { return TaskManager::Finish([&applied, name] { applied << name; }); });
    QCOMPARE(tm.status().queued, 1);  // a and b were replaced while waiting
    release = true;
    QVERIFY(tm.waitForIdle(5000));
    QCOMPARE(applied, QStringList{"c"});
  }

  void errorsBecomeOneLine() {
    TaskManager tm;
    QSignalSpy finished(&tm, &TaskManager::taskFinished);
    tm.submit("g", "bad", [](TaskContext&) -> TaskManager::Finish { throw bb::Error("model.safetensors: tensor 'x' is missing"); });
    tm.submit("h", "worse", [](TaskContext&) -> TaskManager::Finish { throw std::runtime_error("boom"); });
    QVERIFY(tm.waitForIdle(5000));
    QCOMPARE(finished.count(), 2);
    QCOMPARE(finished.at(0).at(3).toString(), QString("model.safetensors: tensor 'x' is missing"));
    QCOMPARE(finished.at(1).at(3).toString(), QString("boom"));
    QVERIFY(!tm.busy());
  }

  void theUiThreadKeepsRunningDuringWork() {
    TaskManager tm;
    tm.submit("g", "busy", [](TaskContext& ctx) {
      QElapsedTimer t;
      t.start();
      volatile double x = 0;
      while (t.elapsed() < 300) {
        ctx.checkCancelled();
        for (int i = 0; i < 1000; ++i) x = x + i;
      }
      return TaskManager::Finish{};
    });
    int ticks = 0;
    QTimer timer;
    timer.setInterval(5);
    connect(&timer, &QTimer::timeout, [&] { ++ticks; });
    timer.start();
    QVERIFY(tm.waitForIdle(5000));
    QVERIFY2(ticks >= 10, qPrintable(QString::number(ticks)));  // ~60 at 5 ms; far fewer would mean a blocked loop
  }

  void waitingTaskRunsBesideTheWorkerAndIsListedAndCancelled() {
    TaskManager tm;
    std::atomic<bool> release{false};
    tm.submit("busy", "long local work", [&](TaskContext& ctx) {
      while (!release.load()) {
        ctx.checkCancelled();
        QThread::msleep(2);
      }
      return TaskManager::Finish();
    });
    QThread* waitThread = nullptr;
    QSignalSpy finished(&tm, &TaskManager::taskFinished);
    const int done = tm.submitWaiting("remote", "remote job", [&](TaskContext& ctx) {
      waitThread = QThread::currentThread();
      ctx.setProgress(0.25, "step 1 of 4");
      return TaskManager::Finish();
    });
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 5000);  // while the worker is still busy
    QCOMPARE(finished[0][0].toInt(), done);
    QVERIFY(finished[0][2].toBool());
    QVERIFY(waitThread && waitThread != QThread::currentThread());

    std::atomic<bool> started{false};
    const int waiting = tm.submitWaiting("remote", "remote job 2", [&](TaskContext& ctx) {
      ctx.setProgress(0.5, "half way");
      started.store(true);
      for (;;) {
        ctx.checkCancelled();
        QThread::msleep(2);
      }
      return TaskManager::Finish();
    });
    QTRY_VERIFY_WITH_TIMEOUT(started.load(), 5000);
    QVERIFY(tm.groupBusy("remote"));
    release.store(true);  // the worker goes idle: status() lists the waiting task
    QTRY_COMPARE_WITH_TIMEOUT(tm.status().id, waiting, 5000);
    QCOMPARE(tm.status().title, QString("remote job 2"));
    QCOMPARE(tm.status().detail, QString("half way"));
    tm.cancel(waiting);
    QVERIFY(tm.waitForIdle(5000));
    QCOMPARE(finished.size(), 3);
    QCOMPARE(finished[2][0].toInt(), waiting);
    QCOMPARE(finished[2][3].toString(), QString("cancelled"));
    QVERIFY(!tm.groupBusy("remote"));
  }

  void destroyingCancelsRunningWork() {
    std::atomic<bool> started{false}, stopped{false};
    {
      TaskManager tm;
      tm.submit("g", "forever", [&](TaskContext& ctx) {
        started = true;
        try {
          for (;;) {
            ctx.checkCancelled();
            QThread::msleep(1);
          }
        } catch (const bb::ui::TaskCancelled&) {
          stopped = true;
          throw;
        }
        return TaskManager::Finish{};
      });
      QTRY_VERIFY(started.load());
    }
    QVERIFY(stopped.load());
  }
};

QTEST_GUILESS_MAIN(TstTaskManager)
#include "tst_task_manager.moc"
