#pragma once
// Durable job state of the remote runner. Every job lives in its own directory:
//   <root>/jobs/<id>/job.json        spec, state, times, error (replaced atomically at each change)
//   <root>/jobs/<id>/events.jsonl    append-only event log; byte offsets into it resume a stream
//   <root>/jobs/<id>/artifacts/      what the worker wrote (summary.json, outputs, checkpoints, worker.log)
// A restarted store lists every job; one that was running when the server went away is marked
// failed (its worker.log stays), queued ones are handed back to be run.
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/remote/protocol.h"

namespace bb::remote {

struct JobRecord {
  std::string id;
  nlohmann::json spec;  // as validated (JobSpec::to_json)
  JobState state = JobState::Queued;
  double created = 0, started = 0, finished = 0;  // unix seconds (0 = not yet)
  int exit_code = 0;
  std::string error;  // one line, for failed jobs
  nlohmann::json to_json() const;
  static JobRecord from_json(const nlohmann::json& j);
};

class JobStore {
 public:
  explicit JobStore(std::string root);  // creates <root>/jobs; loads and recovers existing jobs

  JobRecord create(const JobSpec& spec);
  std::optional<JobRecord> get(const std::string& id) const;
  std::vector<JobRecord> list() const;                       // oldest first
  std::vector<std::string> recovered_queue() const { return recovered_queue_; }

  // Changes the state (and persists it); appends a "state" event. Terminal states are final.
  void set_state(const std::string& id, JobState state, const std::string& error = "", int exit_code = 0);

  // Appends one event (adds "seq" and "time"); returns the events file size afterwards.
  uint64_t append_event(const std::string& id, nlohmann::json event);
  uint64_t events_size(const std::string& id) const;
  // Waits until the events file of `id` grows beyond `offset` or the job is terminal, at most `ms`.
  void wait_for_events(const std::string& id, uint64_t offset, int ms) const;

  std::string job_dir(const std::string& id) const { return root_ + "/jobs/" + id; }
  std::string artifacts_dir(const std::string& id) const { return job_dir(id) + "/artifacts"; }
  std::string events_path(const std::string& id) const { return job_dir(id) + "/events.jsonl"; }

  static bool valid_id(const std::string& id);

 private:
  void save_locked(const JobRecord& r) const;
  uint64_t append_locked(const std::string& id, nlohmann::json event);

  std::string root_;
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  std::map<std::string, JobRecord> jobs_;
  std::map<std::string, uint64_t> event_count_, event_bytes_;
  std::vector<std::string> recovered_queue_;
};

double unix_now();

}  // namespace bb::remote
