#include "engine/core/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace bb {
namespace {

// True on pool workers and on a caller while it runs a region: nested regions run serially.
thread_local bool t_inside_pool = false;

class Pool {
 public:
  ~Pool() { resize(1); }

  int size() const { return int(workers_.size()) + 1; }

  void resize(int n) {
    if (n < 1) n = 1;
    if (n == size()) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      ++generation_;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
    stop_ = false;
    const uint64_t start_generation = generation_;
    for (int i = 1; i < n; ++i)
      workers_.emplace_back([this, i, start_generation] { loop(i, start_generation); });
  }

  void run(const std::function<void(int, int)>& fn) {
    if (t_inside_pool || workers_.empty()) {
      fn(0, 1);
      return;
    }
    std::lock_guard<std::mutex> serial(run_mu_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      task_ = &fn;
      pending_ = int(workers_.size());
      error_ = nullptr;
      ++generation_;
    }
    cv_.notify_all();
    t_inside_pool = true;
    try {
      fn(0, size());
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!error_) error_ = std::current_exception();
    }
    t_inside_pool = false;
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [this] { return pending_ == 0; });
    task_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void loop(int index, uint64_t seen) {
    t_inside_pool = true;
    for (;;) {
      const std::function<void(int, int)>* task = nullptr;
      int count = 0;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        if (stop_) return;
        task = task_;
        count = int(workers_.size()) + 1;
      }
      if (task) {
        try {
          (*task)(index, count);
        } catch (...) {
          std::lock_guard<std::mutex> lock(mu_);
          if (!error_) error_ = std::current_exception();
        }
        std::lock_guard<std::mutex> lock(mu_);
        if (--pending_ == 0) done_cv_.notify_one();
      }
    }
  }

  std::vector<std::thread> workers_;
  std::mutex mu_, run_mu_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(int, int)>* task_ = nullptr;
  int pending_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
};

Pool& pool() {
  static Pool p;
  static bool initialised = [] {
    p.resize(int(std::max(1u, std::thread::hardware_concurrency())));
    return true;
  }();
  (void)initialised;
  return p;
}

}  // namespace

int num_threads() { return pool().size(); }

void set_num_threads(int n) {
  if (n <= 0) n = int(std::max(1u, std::thread::hardware_concurrency()));
  pool().resize(n);
}

void parallel_threads(const std::function<void(int, int)>& fn) { pool().run(fn); }

void parallel_for(int64_t begin, int64_t end, const std::function<void(int64_t)>& fn, int64_t grain) {
  if (end <= begin) return;
  if (grain < 1) grain = 1;
  if (end - begin <= grain || num_threads() == 1) {
    for (int64_t i = begin; i < end; ++i) fn(i);
    return;
  }
  std::atomic<int64_t> next{begin};
  pool().run([&](int, int) {
    for (;;) {
      int64_t start = next.fetch_add(grain);
      if (start >= end) break;
      int64_t stop = std::min(end, start + grain);
      for (int64_t i = start; i < stop; ++i) fn(i);
    }
  });
}

}  // namespace bb
