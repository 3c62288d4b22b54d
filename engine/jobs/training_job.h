#pragma once
// A fine-tuning run on its own thread, for the GUI and the remote runner: start() returns at once;
// progress arrives as events (a listener called on the job's thread, and/or a queue the caller
// drains with poll() from its own thread, e.g. a GUI timer); pause(), resume() and cancel() only
// set flags and return immediately — the trainer honours them between steps (cancel also between
// micro-batches). Nothing here ever blocks the caller except wait() and the destructor (which
// cancels, then joins).
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/train/trainer.h"

namespace bb::jobs {

enum class JobState { Running, Paused, Finished, Cancelled, Failed };
std::string to_string(JobState s);

class TrainingJob {
 public:
  using Listener = std::function<void(const train::TrainingEvent&)>;

  static std::unique_ptr<TrainingJob> start(train::TrainerConfig config, Listener listener = nullptr);
  ~TrainingJob();
  TrainingJob(const TrainingJob&) = delete;
  TrainingJob& operator=(const TrainingJob&) = delete;

  void pause();
  void resume();
  void cancel();

  JobState state() const;
  bool done() const;                             // Finished, Cancelled or Failed
  std::vector<train::TrainingEvent> poll();      // events since the last poll (oldest first)
  train::TrainingEvent last_step() const;        // latest Step event (zeros before the first)
  std::string error() const;                     // the failure message (Failed)
  train::TrainingSummary summary() const;        // valid once done()
  bool wait(std::chrono::milliseconds timeout);  // true when done within the timeout

 private:
  TrainingJob() = default;
  void run(train::TrainerConfig config);
  void push(const train::TrainingEvent& e);

  Listener listener_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<train::TrainingEvent> queue_;
  train::TrainingEvent last_step_;
  JobState state_ = JobState::Running;
  bool pause_requested_ = false, cancel_requested_ = false, done_ = false;
  std::string error_;
  train::TrainingSummary summary_;
  std::thread thread_;
};

}  // namespace bb::jobs
