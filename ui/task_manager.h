#pragma once
// The one place model work runs: a single worker thread with a queue. A task's work runs on the
// worker and returns a small "finish" step that the UI thread runs (swap in the results), so the
// UI thread never waits for the engine. Tasks report progress and can be cancelled; submitting a
// task to a group cancels the group's older task (the newest request wins).
#include <QObject>
#include <QString>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace bb::ui {

// Thrown by TaskContext::checkCancelled() to unwind a cancelled task.
struct TaskCancelled {};

class TaskManager;

class TaskContext {
 public:
  // Fraction in [0, 1]; `detail` is a short line for the status bar ("layer 3 of 12").
  void setProgress(double fraction, const QString& detail = {});
  bool cancelled() const { return cancelled_->load(); }
  void checkCancelled() const {
    if (cancelled()) throw TaskCancelled{};
  }

 private:
  friend class TaskManager;
  TaskManager* manager_ = nullptr;
  int id_ = 0;
  std::shared_ptr<std::atomic<bool>> cancelled_;
};

class TaskManager : public QObject {
  Q_OBJECT

 public:
  using Finish = std::function<void()>;              // runs on the UI thread
  using Work = std::function<Finish(TaskContext&)>;  // runs on the worker thread

  explicit TaskManager(QObject* parent = nullptr);
  ~TaskManager() override;  // cancels everything and joins the worker

  int submit(const QString& group, const QString& title, Work work);
  // For work that mostly waits on something else (a job on a remote runner, for hours): it runs on
  // a thread of its own, so it does not hold up the worker, but it is reported, listed in status()
  // while the worker is idle, cancelled and finished exactly like a task from submit().
  int submitWaiting(const QString& group, const QString& title, Work work);
  void cancel(int id);
  void cancelGroup(const QString& group);
  void cancelAll();

  struct Status {
    int id = 0;  // 0 when idle
    QString group, title, detail;
    double progress = 0;
    int queued = 0;
  };
  Status status() const;
  bool busy() const { return status().id != 0 || status().queued > 0; }
  bool groupBusy(const QString& group) const;
  // Processes events until nothing is queued or running (tests, --render). False on timeout.
  bool waitForIdle(int timeoutMs);

 signals:
  void taskStarted(int id, const QString& title);
  void taskProgress(int id, double fraction, const QString& detail);
  // ok = false with error "cancelled" for a cancelled task.
  void taskFinished(int id, const QString& title, bool ok, const QString& error);
  // After taskFinished, when the task failed with something other than bb::Error (a bug: a
  // std::exception or anything else thrown by its work or finish step). The manager keeps running.
  void taskCrashed(int id, const QString& title, const QString& error);

 private:
  struct Task {
    int id;
    QString group, title;
    Work work;
    std::shared_ptr<std::atomic<bool>> cancelled;
  };
  friend class TaskContext;
  void run();
  void execute(std::shared_ptr<Task> task);  // runs the work, then posts the finish step to the UI thread
  void reportProgress(int id, double fraction, const QString& detail);
  void cancelGroupLocked(const QString& group);

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> queue_;
  std::shared_ptr<Task> current_;
  double progress_ = 0;
  QString detail_;
  struct Waiting {
    std::shared_ptr<Task> task;
    double progress = 0;
    QString detail;
  };
  std::map<int, Waiting> waiting_;  // submitWaiting tasks whose work is running
  std::map<int, std::thread> waitingThreads_;
  int nextId_ = 1;
  int unfinished_ = 0;  // queued + running + finished-but-not-yet-delivered
  std::map<QString, int> undelivered_;  // per group: work done, finish step not yet run
  bool stop_ = false;
  std::thread worker_;
};

}  // namespace bb::ui
