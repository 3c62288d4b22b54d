#include "ui/task_manager.h"

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QElapsedTimer>
#include <QThread>
#include <exception>
#include <new>

#include "engine/core/error.h"
#include "engine/core/thread_pool.h"

#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace bb::ui {

void TaskContext::setProgress(double fraction, const QString& detail) {
  if (manager_) manager_->reportProgress(id_, fraction, detail);
}

TaskManager::TaskManager(QObject* parent) : QObject(parent) {
  worker_ = std::thread([this] { run(); });
}

TaskManager::~TaskManager() {
  std::map<int, std::thread> waitingThreads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    for (Task& t : queue_) t.cancelled->store(true);
    if (current_) current_->cancelled->store(true);
    for (auto& [id, w] : waiting_) w.task->cancelled->store(true);
    waitingThreads.swap(waitingThreads_);
  }
  cv_.notify_all();
  worker_.join();
  for (auto& [id, t] : waitingThreads) t.join();
}

int TaskManager::submit(const QString& group, const QString& title, Work work) {
  int id = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = nextId_++;
    cancelGroupLocked(group);
    queue_.push_back(Task{id, group, title, std::move(work), std::make_shared<std::atomic<bool>>(false)});
    ++unfinished_;
  }
  cv_.notify_all();
  return id;
}

void TaskManager::cancel(int id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = queue_.begin(); it != queue_.end(); ++it)
    if (it->id == id) {
      queue_.erase(it);
      --unfinished_;
      return;
    }
  if (current_ && current_->id == id) current_->cancelled->store(true);
  if (auto w = waiting_.find(id); w != waiting_.end()) w->second.task->cancelled->store(true);
}

int TaskManager::submitWaiting(const QString& group, const QString& title, Work work) {
  int id = 0;
  std::vector<std::thread> ended;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = nextId_++;
    cancelGroupLocked(group);
    for (auto it = waitingThreads_.begin(); it != waitingThreads_.end();) {
      if (!waiting_.count(it->first)) {  // its work is over: the thread ends at once
        ended.push_back(std::move(it->second));
        it = waitingThreads_.erase(it);
      } else {
        ++it;
      }
    }
    auto task = std::make_shared<Task>(Task{id, group, title, std::move(work), std::make_shared<std::atomic<bool>>(false)});
    waiting_[id] = Waiting{task, 0, {}};
    ++unfinished_;
    waitingThreads_[id] = std::thread([this, task] {
      QMetaObject::invokeMethod(
          this, [this, id = task->id, title = task->title] { emit taskStarted(id, title); }, Qt::QueuedConnection);
      execute(task);
    });
  }
  for (std::thread& t : ended) t.join();
  return id;
}

void TaskManager::cancelGroup(const QString& group) {
  std::lock_guard<std::mutex> lock(mu_);
  cancelGroupLocked(group);
}

void TaskManager::cancelGroupLocked(const QString& group) {
  for (auto& [id, w] : waiting_)
    if (w.task->group == group) w.task->cancelled->store(true);
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (it->group == group) {
      it = queue_.erase(it);
      --unfinished_;
    } else {
      ++it;
    }
  }
  if (current_ && current_->group == group) current_->cancelled->store(true);
}

void TaskManager::cancelAll() {
  std::lock_guard<std::mutex> lock(mu_);
  unfinished_ -= int(queue_.size());
  queue_.clear();
  if (current_) current_->cancelled->store(true);
  for (auto& [id, w] : waiting_) w.task->cancelled->store(true);
}

TaskManager::Status TaskManager::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  Status s;
  s.queued = int(queue_.size());
  if (current_) {
    s.id = current_->id;
    s.group = current_->group;
    s.title = current_->title;
    s.detail = detail_;
    s.progress = progress_;
  } else if (!waiting_.empty()) {
    const Waiting& w = waiting_.begin()->second;
    s.id = w.task->id;
    s.group = w.task->group;
    s.title = w.task->title;
    s.detail = w.detail;
    s.progress = w.progress;
  }
  return s;
}

bool TaskManager::groupBusy(const QString& group) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (current_ && current_->group == group && !current_->cancelled->load()) return true;
  if (undelivered_.count(group)) return true;
  for (const auto& [id, w] : waiting_)
    if (w.task->group == group && !w.task->cancelled->load()) return true;
  for (const Task& t : queue_)
    if (t.group == group) return true;
  return false;
}

bool TaskManager::waitForIdle(int timeoutMs) {
  QDeadlineTimer deadline(timeoutMs);
  for (;;) {
    QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (unfinished_ == 0) return true;
    }
    if (deadline.hasExpired()) return false;
    QThread::msleep(2);
  }
}

void TaskManager::reportProgress(int id, double fraction, const QString& detail) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (current_ && current_->id == id) {
      progress_ = fraction;
      detail_ = detail;
    } else if (auto w = waiting_.find(id); w != waiting_.end()) {
      w->second.progress = fraction;
      w->second.detail = detail;
    } else {
      return;
    }
  }
  QMetaObject::invokeMethod(
      this, [this, id, fraction, detail] { emit taskProgress(id, fraction, detail); }, Qt::QueuedConnection);
}

void TaskManager::run() {
#ifdef __linux__
  // Model work yields to the UI thread: this thread, and the engine's pool threads when this is the
  // first thread to use the engine (new threads inherit the nice value), run at a lower priority.
  setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 8);
#endif
  bb::num_threads();  // creates the engine's pool here, if nothing has yet
  for (;;) {
    std::shared_ptr<Task> task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      task = std::make_shared<Task>(std::move(queue_.front()));
      queue_.pop_front();
      current_ = task;
      progress_ = 0;
      detail_.clear();
    }
    QMetaObject::invokeMethod(
        this, [this, id = task->id, title = task->title] { emit taskStarted(id, title); }, Qt::QueuedConnection);
    execute(task);
  }
}

void TaskManager::execute(std::shared_ptr<Task> task) {
  TaskContext ctx;
  ctx.manager_ = this;
  ctx.id_ = task->id;
  ctx.cancelled_ = task->cancelled;
  Finish finish;
  QString error;
  bool unexpected = false;  // not a bb::Error: a bug, reported with a copyable report (taskCrashed)
  try {
    ctx.checkCancelled();
    finish = task->work(ctx);
    ctx.checkCancelled();
  } catch (const TaskCancelled&) {
    error = QStringLiteral("cancelled");
  } catch (const std::bad_alloc&) {
    error = QStringLiteral("out of memory");
  } catch (const bb::Error& e) {
    error = QString::fromUtf8(e.what());
  } catch (const std::exception& e) {
    error = QString::fromUtf8(e.what());
    unexpected = true;
  } catch (...) {
    error = QStringLiteral("unknown error (a non-standard exception)");
    unexpected = true;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (current_ == task) current_.reset();
    waiting_.erase(task->id);
    ++undelivered_[task->group];
  }
  // Deliver on the UI thread; a task cancelled after its work finished is dropped there.
  QMetaObject::invokeMethod(
      this,
      [this, task, finish = std::move(finish), error, unexpected]() mutable {
        QString err = error;
        bool crashed = unexpected;
        if (err.isEmpty() && task->cancelled->load()) err = QStringLiteral("cancelled");
        if (err.isEmpty() && finish) {
          try {
            finish();
          } catch (const bb::Error& e) {
            err = QString::fromUtf8(e.what());
          } catch (const std::exception& e) {
            err = QString::fromUtf8(e.what());
            crashed = true;
          } catch (...) {
            err = QStringLiteral("unknown error (a non-standard exception)");
            crashed = true;
          }
        }
        {
          std::lock_guard<std::mutex> lock(mu_);
          --unfinished_;
          if (--undelivered_[task->group] == 0) undelivered_.erase(task->group);
        }
        emit taskFinished(task->id, task->title, err.isEmpty(), err);
        if (crashed) emit taskCrashed(task->id, task->title, err);
      },
      Qt::QueuedConnection);
}

}  // namespace bb::ui
