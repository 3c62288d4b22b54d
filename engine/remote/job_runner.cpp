#include "engine/remote/job_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "engine/core/error.h"
#include "engine/io/atomic_file.h"

namespace fs = std::filesystem;

namespace bb::remote {

namespace {

double steady_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// fork + exec with stdin from /dev/null, stdout to a file (or a pipe), stderr to a pipe. The
// child gets its own process group (so a cancel reaches everything it starts) and none of the
// server's descriptors (sockets included).
struct Child {
  pid_t pid = -1;
  int err_fd = -1, out_fd = -1;  // read ends; out_fd only when stdout carries events
};

Child spawn(const WorkerCommand& cmd, const std::string& cwd) {
  int err_pipe[2], out_pipe[2] = {-1, -1};
  if (pipe2(err_pipe, O_CLOEXEC) != 0) throw Error("cannot create a pipe for the worker");
  int out_file = -1;
  if (cmd.stdout_events) {
    if (pipe2(out_pipe, O_CLOEXEC) != 0) throw Error("cannot create a pipe for the worker");
  } else {
    out_file = ::open(cmd.stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out_file < 0) throw Error(cmd.stdout_path + ": cannot create the worker's output file");
  }
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  std::vector<char*> argv;
  for (const std::string& a : cmd.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw Error("cannot start the worker process (fork failed)");
  if (pid == 0) {
    setpgid(0, 0);
    signal(SIGPIPE, SIG_DFL);  // the server ignores it; an ignored signal would survive exec
    if (chdir(cwd.c_str()) != 0) _exit(126);
    dup2(null_fd, STDIN_FILENO);
    dup2(cmd.stdout_events ? out_pipe[1] : out_file, STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    if (close_range(3, ~0U, 0) != 0)
      for (int fd = 3; fd < 4096; ++fd) close(fd);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  setpgid(pid, pid);  // also from the parent, so a kill right after fork reaches the group
  close(err_pipe[1]);
  if (out_pipe[1] >= 0) close(out_pipe[1]);
  if (out_file >= 0) close(out_file);
  if (null_fd >= 0) close(null_fd);
  return {pid, err_pipe[0], out_pipe[0]};
}

// Splits a byte stream into lines at '\n' and '\r' (progress lines redraw with '\r').
class LineSplitter {
 public:
  template <class F>
  void feed(const char* data, size_t n, F&& on_line) {
    for (size_t i = 0; i < n; ++i) {
      if (data[i] == '\n' || data[i] == '\r') {
        if (!pending_.empty()) on_line(pending_);
        pending_.clear();
      } else if (pending_.size() < 64 * 1024) {
        pending_.push_back(data[i]);
      }
    }
  }
  template <class F>
  void flush(F&& on_line) {
    if (!pending_.empty()) on_line(pending_);
    pending_.clear();
  }

 private:
  std::string pending_;
};

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}

}  // namespace

JobRunner::JobRunner(JobStore& jobs, UploadStore& uploads, RunnerOptions options)
    : jobs_(jobs), uploads_(uploads), options_(std::move(options)) {
  if (options_.max_jobs < 1) throw Error("--max-jobs must be at least 1");
}

JobRunner::~JobRunner() { stop(); }

void JobRunner::start() {
  std::lock_guard lock(mu_);
  if (started_) return;
  started_ = true;
  for (const std::string& id : jobs_.recovered_queue()) queue_.push_back(id);
  scheduler_ = std::thread([this] { scheduler_loop(); });
}

void JobRunner::stop() {
  {
    std::lock_guard lock(mu_);
    if (!started_ || stopping_) return;
    stopping_ = true;
    for (auto& [id, a] : active_)
      if (a.pid > 0) kill(-a.pid, SIGKILL);
  }
  cv_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
  std::map<std::string, std::thread> workers;
  {
    std::lock_guard lock(mu_);
    workers.swap(workers_);
  }
  for (auto& [id, t] : workers) t.join();
}

void JobRunner::enqueue(const std::string& id) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(id);
  }
  cv_.notify_all();
}

bool JobRunner::cancel(const std::string& id) {
  const auto rec = jobs_.get(id);
  if (!rec || is_terminal(rec->state)) return false;
  std::lock_guard lock(mu_);
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    if (*it != id) continue;
    queue_.erase(it);
    jobs_.set_state(id, JobState::Cancelled, "cancelled before it started");
    return true;
  }
  auto a = active_.find(id);
  if (a == active_.end()) {
    // Between the queue and the worker start: the worker sees the request when it starts.
    active_[id].cancel_requested = true;
    return true;
  }
  a->second.cancel_requested = true;
  if (a->second.pid > 0) kill(-a->second.pid, SIGTERM);
  return true;
}

int JobRunner::running() const {
  std::lock_guard lock(mu_);
  return int(active_.size());
}

std::vector<std::string> JobRunner::server_models() const {
  std::vector<std::string> out;
  if (options_.models_dir.empty()) return out;
  std::error_code ec;
  for (auto it = fs::directory_iterator(options_.models_dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (it->is_directory() && relative_path_problem(name).empty() && fs::exists(it->path() / "config.json"))
      out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string JobRunner::resolve(const std::string& ref) const {
  if (ref.rfind("uploads/", 0) == 0) return uploads_.resolve(ref.substr(8));
  const std::string name = ref.substr(7);  // "models/" (JobSpec checked the prefix and the name)
  if (options_.models_dir.empty()) throw Error("this server offers no models/ directory; upload the model instead");
  const std::string dir = options_.models_dir + "/" + name;
  if (!fs::is_directory(dir)) throw Error("model '" + name + "' is not offered by this server");
  return dir;
}

void JobRunner::scheduler_loop() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] {
      return stopping_ || !finished_.empty() || (!queue_.empty() && int(workers_.size()) < options_.max_jobs);
    });
    for (const std::string& id : finished_) {
      auto t = workers_.find(id);
      if (t != workers_.end()) {
        t->second.join();
        workers_.erase(t);
      }
    }
    finished_.clear();
    if (stopping_) return;
    while (!queue_.empty() && int(workers_.size()) < options_.max_jobs) {
      const std::string id = queue_.front();
      queue_.pop_front();
      if (workers_.count(id)) continue;
      active_.try_emplace(id);
      workers_[id] = std::thread([this, id] {
        run_job(id);
        {
          std::lock_guard l(mu_);
          active_.erase(id);
          finished_.push_back(id);
        }
        cv_.notify_all();
      });
    }
  }
}

void JobRunner::run_job(const std::string& id) {
  const auto rec = jobs_.get(id);
  if (!rec || is_terminal(rec->state)) return;
  try {
    {
      std::lock_guard lock(mu_);
      if (active_[id].cancel_requested) {
        jobs_.set_state(id, JobState::Cancelled, "cancelled before it started");
        return;
      }
    }
    const JobSpec spec = JobSpec::from_json(rec->spec);
    const std::string model = resolve(spec.model);
    std::map<std::string, std::string> inputs;
    for (const auto& [role, ref] : spec.inputs) inputs[role] = resolve(ref);
    const std::string dir = jobs_.job_dir(id);
    const WorkerCommand cmd = worker_command(spec, model, inputs, dir, options_.worker);
    if (options_.worker.backend == Backend::Tpu)
      io::write_file_atomic(dir + "/worker-spec.json", tpu_worker_spec(spec, model, inputs, dir).dump(1) + "\n");
    supervise(id, spec, cmd);
  } catch (const std::exception& e) {
    jobs_.set_state(id, JobState::Failed, e.what(), -1);
  }
}

void JobRunner::supervise(const std::string& id, const JobSpec& spec, const WorkerCommand& cmd) {
  const std::string dir = jobs_.job_dir(id), art = jobs_.artifacts_dir(id);
  std::ofstream log(art + "/worker.log", std::ios::binary | std::ios::app);
  Child child;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;  // stays queued for the next start
    child = spawn(cmd, dir);
    active_[id].pid = child.pid;
    peak_running_ = std::max(peak_running_.load(), ++alive_workers_);
  }
  jobs_.set_state(id, JobState::Running);
  jobs_.append_event(id, {{"type", "log"}, {"line", "worker pid " + std::to_string(child.pid)}, {"pid", child.pid}});

  std::deque<std::string> tail;  // the log's last lines, for a failure report
  std::string last_progress;
  auto on_err_line = [&](const std::string& raw) {
    const std::string line = trim(raw);
    if (line.empty()) return;
    log << line << '\n';
    log.flush();
    tail.push_back(line.substr(0, 1000));
    if (tail.size() > 20) tail.pop_front();
    nlohmann::json e = parse_worker_line(spec.kind, line);
    if (e["type"] == "progress") {
      const std::string key = e.dump();
      if (key == last_progress) return;
      last_progress = key;
    }
    jobs_.append_event(id, std::move(e));
  };
  auto on_out_line = [&](const std::string& raw) {
    const std::string line = trim(raw);
    if (line.empty()) return;
    nlohmann::json e = nlohmann::json::parse(line, nullptr, false);
    if (e.is_object() && e.contains("type") && e["type"].is_string() && e["type"] != "state") {
      jobs_.append_event(id, std::move(e));
    } else {
      on_err_line(line);
    }
  };

  LineSplitter err_lines, out_lines;
  pollfd fds[2] = {{child.err_fd, POLLIN, 0}, {child.out_fd, POLLIN, 0}};
  int open_fds = child.out_fd >= 0 ? 2 : 1;
  double term_sent_at = 0;
  char buf[16384];
  while (open_fds > 0) {
    const int n = poll(fds, 2, 200);
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < 2 && n > 0; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t got = read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        if (i == 0) err_lines.feed(buf, size_t(got), on_err_line);
        else out_lines.feed(buf, size_t(got), on_out_line);
      } else if (got == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
    std::lock_guard lock(mu_);
    if (active_[id].cancel_requested && term_sent_at == 0) {
      term_sent_at = steady_s();
      kill(-child.pid, SIGTERM);
    }
    if (term_sent_at > 0 && steady_s() - term_sent_at > options_.cancel_grace_s) kill(-child.pid, SIGKILL);
  }
  err_lines.flush(on_err_line);
  out_lines.flush(on_out_line);
  for (pollfd& f : fds)
    if (f.fd >= 0) close(f.fd);
  int status = 0;
  while (waitpid(child.pid, &status, 0) < 0 && errno == EINTR) {
  }
  kill(-child.pid, SIGKILL);  // anything the worker left behind in its group
  {
    std::lock_guard lock(mu_);
    --alive_workers_;
  }

  bool cancelled, stopping;
  {
    std::lock_guard lock(mu_);
    cancelled = active_[id].cancel_requested;
    stopping = stopping_;
  }
  const bool exited = WIFEXITED(status);
  const int code = exited ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (!tail.empty() && (code != 0 || cancelled || stopping))
    jobs_.append_event(id, {{"type", "log_tail"}, {"lines", std::vector<std::string>(tail.begin(), tail.end())}});

  if (exited && code == 0 && !cancelled) {
    if (spec.kind == JobKind::Summarize) {
      // The summary as plain text next to the full JSON report.
      const nlohmann::json j = nlohmann::json::parse(io::read_text_file(art + "/summary.json"), nullptr, false);
      if (j.is_object() && j.contains("summary")) io::write_file_atomic(art + "/summary.txt", j["summary"].get<std::string>() + "\n");
    }
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(art, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
      if (it->is_regular_file())
        jobs_.append_event(id, {{"type", "artifact"}, {"path", fs::relative(it->path(), art).string()}, {"size", it->file_size()}});
    jobs_.set_state(id, JobState::Succeeded, "", 0);
  } else if (stopping) {
    jobs_.set_state(id, JobState::Failed, "the server stopped while the job was running (see worker.log)", code);
  } else if (cancelled) {
    jobs_.set_state(id, JobState::Cancelled, "cancelled", code);
  } else {
    std::string reason;
    for (auto it = tail.rbegin(); it != tail.rend() && reason.empty(); ++it)
      if (it->find("error:") != std::string::npos) reason = *it;
    if (!exited)
      reason = "the worker was killed by signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) +
               "); see worker.log";
    else if (reason.empty())
      reason = "the worker exited with code " + std::to_string(code) + (tail.empty() ? "" : ": " + tail.back());
    jobs_.set_state(id, JobState::Failed, reason, code);
  }
}

}  // namespace bb::remote
