#include "engine/remote/job_store.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "engine/core/error.h"
#include "engine/io/atomic_file.h"

namespace fs = std::filesystem;

namespace bb::remote {

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

nlohmann::json JobRecord::to_json() const {
  return {{"id", id},           {"spec", spec},         {"state", to_string(state)}, {"created", created},
          {"started", started}, {"finished", finished}, {"exit_code", exit_code},    {"error", error}};
}

JobRecord JobRecord::from_json(const nlohmann::json& j) {
  JobRecord r;
  r.id = j.at("id").get<std::string>();
  r.spec = j.at("spec");
  r.state = parse_job_state(j.at("state").get<std::string>());
  r.created = j.at("created").get<double>();
  r.started = j.at("started").get<double>();
  r.finished = j.at("finished").get<double>();
  r.exit_code = j.at("exit_code").get<int>();
  r.error = j.at("error").get<std::string>();
  return r;
}

bool JobStore::valid_id(const std::string& id) {
  if (id.size() < 3 || id.size() > 40 || id.rfind("j-", 0) != 0) return false;
  return std::all_of(id.begin() + 2, id.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

JobStore::JobStore(std::string root) : root_(std::move(root)) {
  std::error_code ec;
  fs::create_directories(root_ + "/jobs", ec);
  if (ec) throw Error(root_ + "/jobs: cannot create the job directory (" + ec.message() + ")");
  std::vector<JobRecord> loaded;
  for (const auto& entry : fs::directory_iterator(root_ + "/jobs")) {
    const std::string id = entry.path().filename().string();
    if (!entry.is_directory() || !valid_id(id)) continue;
    try {
      JobRecord r = JobRecord::from_json(nlohmann::json::parse(io::read_text_file(entry.path().string() + "/job.json")));
      if (r.id != id) continue;
      loaded.push_back(std::move(r));
    } catch (const std::exception&) {
      // A job directory without a readable job.json was never fully created; it is skipped.
      continue;
    }
  }
  std::sort(loaded.begin(), loaded.end(), [](const JobRecord& a, const JobRecord& b) { return a.created < b.created; });
  std::lock_guard lock(mu_);
  for (JobRecord& r : loaded) {
    uint64_t count = 0, bytes = 0;
    if (std::ifstream in(events_path(r.id), std::ios::binary); in) {
      std::string line;
      while (std::getline(in, line)) {
        ++count;
        bytes += line.size() + 1;
      }
    }
    event_count_[r.id] = count;
    event_bytes_[r.id] = bytes;
    jobs_[r.id] = r;
    if (r.state == JobState::Running) {
      JobRecord& live = jobs_[r.id];
      live.state = JobState::Failed;
      live.finished = unix_now();
      live.error = "the server stopped while the job was running (see worker.log)";
      save_locked(live);
      append_locked(r.id, {{"type", "state"}, {"state", "failed"}, {"error", live.error}});
    } else if (r.state == JobState::Queued) {
      recovered_queue_.push_back(r.id);
    }
  }
}

JobRecord JobStore::create(const JobSpec& spec) {
  JobRecord r;
  r.id = "j-" + random_hex(8);
  r.spec = spec.to_json();
  r.created = unix_now();
  std::error_code ec;
  fs::create_directories(artifacts_dir(r.id), ec);
  if (ec) throw Error(job_dir(r.id) + ": cannot create the job directory (" + ec.message() + ")");
  std::lock_guard lock(mu_);
  jobs_[r.id] = r;
  event_count_[r.id] = 0;
  event_bytes_[r.id] = 0;
  save_locked(r);
  append_locked(r.id, {{"type", "state"}, {"state", "queued"}});
  return r;
}

std::optional<JobRecord> JobStore::get(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  return it->second;
}

std::vector<JobRecord> JobStore::list() const {
  std::lock_guard lock(mu_);
  std::vector<JobRecord> out;
  for (const auto& [id, r] : jobs_) out.push_back(r);
  std::sort(out.begin(), out.end(), [](const JobRecord& a, const JobRecord& b) { return a.created < b.created; });
  return out;
}

void JobStore::set_state(const std::string& id, JobState state, const std::string& error, int exit_code) {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end() || is_terminal(it->second.state)) return;
  JobRecord& r = it->second;
  r.state = state;
  if (state == JobState::Running) r.started = unix_now();
  if (is_terminal(state)) r.finished = unix_now();
  r.error = error;
  r.exit_code = exit_code;
  save_locked(r);
  nlohmann::json e = {{"type", "state"}, {"state", to_string(state)}};
  if (!error.empty()) e["error"] = error;
  if (is_terminal(state)) e["exit_code"] = exit_code;
  append_locked(id, std::move(e));
}

uint64_t JobStore::append_event(const std::string& id, nlohmann::json event) {
  std::lock_guard lock(mu_);
  return append_locked(id, std::move(event));
}

uint64_t JobStore::append_locked(const std::string& id, nlohmann::json event) {
  event["seq"] = event_count_[id];
  event["time"] = unix_now();
  const std::string line = event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::ofstream out(events_path(id), std::ios::binary | std::ios::app);
  out << line;
  out.flush();
  if (!out) throw Error(events_path(id) + ": cannot append an event (disk full?)");
  ++event_count_[id];
  event_bytes_[id] += line.size();
  changed_.notify_all();
  return event_bytes_[id];
}

uint64_t JobStore::events_size(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = event_bytes_.find(id);
  return it == event_bytes_.end() ? 0 : it->second;
}

void JobStore::wait_for_events(const std::string& id, uint64_t offset, int ms) const {
  std::unique_lock lock(mu_);
  changed_.wait_for(lock, std::chrono::milliseconds(ms), [&] {
    auto b = event_bytes_.find(id);
    auto j = jobs_.find(id);
    return b == event_bytes_.end() || b->second > offset || (j != jobs_.end() && is_terminal(j->second.state));
  });
}

void JobStore::save_locked(const JobRecord& r) const {
  io::write_file_atomic(job_dir(r.id) + "/job.json", r.to_json().dump(1) + "\n");
}

}  // namespace bb::remote
