#pragma once
// Runs queued jobs, at most `max_jobs` at a time, each in its own worker process (worker_command.h)
// in its own process group, from the job's directory. The worker's stderr becomes worker.log (an
// artifact) and progress / metric / log events; its exit decides the state: 0 → succeeded, a
// cancel → cancelled, anything else (an error exit, a crash, a kill) → failed with the reason and
// the log's last lines. Nothing here blocks the HTTP handlers.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/remote/job_store.h"
#include "engine/remote/upload_store.h"
#include "engine/remote/worker_command.h"

namespace bb::remote {

struct RunnerOptions {
  WorkerSetup worker;
  int max_jobs = 1;
  std::string models_dir;  // "models/<name>" references resolve here ("" = none offered)
  double cancel_grace_s = 5;  // SIGTERM, then SIGKILL after this long
};

class JobRunner {
 public:
  JobRunner(JobStore& jobs, UploadStore& uploads, RunnerOptions options);
  ~JobRunner();
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  void start();  // the scheduler thread; also queues the jobs a restart recovered
  void stop();   // running workers are killed and their jobs failed ("the server stopped")
  void enqueue(const std::string& id);
  bool cancel(const std::string& id);  // false when the job is unknown or already finished
  int running() const;
  int peak_running() const { return peak_running_.load(); }  // most worker processes alive at once

  // Model names offered under models/ (directories holding a config.json).
  std::vector<std::string> server_models() const;

 private:
  struct Active {
    int pid = 0;
    bool cancel_requested = false;
  };
  void scheduler_loop();
  void run_job(const std::string& id);
  void supervise(const std::string& id, const JobSpec& spec, const WorkerCommand& cmd);
  std::string resolve(const std::string& ref) const;

  JobStore& jobs_;
  UploadStore& uploads_;
  RunnerOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  std::map<std::string, Active> active_;
  std::map<std::string, std::thread> workers_;
  std::vector<std::string> finished_;  // worker threads to join
  std::thread scheduler_;
  bool stopping_ = false, started_ = false;
  int alive_workers_ = 0;                // worker processes between fork and waitpid
  std::atomic<int> peak_running_{0};
};

}  // namespace bb::remote
