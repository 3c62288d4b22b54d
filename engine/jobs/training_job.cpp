#include "engine/jobs/training_job.h"

#include <exception>

namespace bb::jobs {

std::string to_string(JobState s) {
  switch (s) {
    case JobState::Running:
      return "running";
    case JobState::Paused:
      return "paused";
    case JobState::Finished:
      return "finished";
    case JobState::Cancelled:
      return "cancelled";
    case JobState::Failed:
      return "failed";
  }
  return "?";
}

std::unique_ptr<TrainingJob> TrainingJob::start(train::TrainerConfig config, Listener listener) {
  std::unique_ptr<TrainingJob> job(new TrainingJob());
  job->listener_ = std::move(listener);
  TrainingJob* self = job.get();
  job->thread_ = std::thread([self, config = std::move(config)]() mutable { self->run(std::move(config)); });
  return job;
}

TrainingJob::~TrainingJob() {
  cancel();
  if (thread_.joinable()) thread_.join();
}

void TrainingJob::push(const train::TrainingEvent& e) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(e);
    if (queue_.size() > 10000) queue_.pop_front();  // a caller that never polls must not grow memory forever
    if (e.kind == train::TrainingEvent::Kind::Step) last_step_ = e;
  }
  if (!listener_) return;
  try {
    listener_(e);
  } catch (...) {
    // A failing listener (a closed GUI, a broken pipe) must not take the training run down with it.
  }
}

void TrainingJob::run(train::TrainerConfig config) {
  train::TrainerControl control;
  control.on_event = [this](const train::TrainingEvent& e) { push(e); };
  control.cancelled = [this] {
    std::lock_guard<std::mutex> lock(mu_);
    return cancel_requested_;
  };
  control.wait_while_paused = [this] {
    std::unique_lock<std::mutex> lock(mu_);
    if (!pause_requested_ || cancel_requested_) return;
    state_ = JobState::Paused;
    train::TrainingEvent e;
    e.kind = train::TrainingEvent::Kind::Paused;
    e.step = last_step_.step;
    e.total_steps = last_step_.total_steps;
    lock.unlock();
    push(e);
    lock.lock();
    cv_.wait(lock, [this] { return !pause_requested_ || cancel_requested_; });
    state_ = JobState::Running;
    e.kind = train::TrainingEvent::Kind::Resumed;
    lock.unlock();
    push(e);
  };
  train::TrainingSummary summary;
  std::string error;
  bool failed = false;
  try {
    summary = train::run_training(config, control);
  } catch (const std::exception& ex) {
    failed = true;
    error = ex.what();
  }
  if (failed) {
    train::TrainingEvent e;
    e.kind = train::TrainingEvent::Kind::Failed;
    e.message = error;
    push(e);
  }
  std::lock_guard<std::mutex> lock(mu_);
  summary_ = std::move(summary);
  error_ = error;
  state_ = failed ? JobState::Failed : (summary_.cancelled ? JobState::Cancelled : JobState::Finished);
  done_ = true;
  cv_.notify_all();
}

void TrainingJob::pause() {
  std::lock_guard<std::mutex> lock(mu_);
  pause_requested_ = true;
}

void TrainingJob::resume() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    pause_requested_ = false;
  }
  cv_.notify_all();
}

void TrainingJob::cancel() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancel_requested_ = true;
  }
  cv_.notify_all();
}

JobState TrainingJob::state() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

bool TrainingJob::done() const {
  std::lock_guard<std::mutex> lock(mu_);
  return done_;
}

std::vector<train::TrainingEvent> TrainingJob::poll() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<train::TrainingEvent> out(queue_.begin(), queue_.end());
  queue_.clear();
  return out;
}

train::TrainingEvent TrainingJob::last_step() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_step_;
}

std::string TrainingJob::error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return error_;
}

train::TrainingSummary TrainingJob::summary() const {
  std::lock_guard<std::mutex> lock(mu_);
  return summary_;
}

bool TrainingJob::wait(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return done_; });
}

}  // namespace bb::jobs
