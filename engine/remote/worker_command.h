#pragma once
// How a job spec becomes a worker process. The local backend re-executes the bigbird binary with
// the existing CLI commands (summarize / forward / finetune: one implementation of each job); the
// TPU backend runs packaging/tpu/bigbird_tpu_worker.py, which translates the same spec into a
// JAX/Flax or TF BigBird run. Worker output lines become events (parse_worker_line).
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/remote/protocol.h"

namespace bb::remote {

enum class Backend { Local, Tpu };
Backend parse_backend(const std::string& s);  // local|tpu; throws bb::Error
std::string to_string(Backend b);

struct WorkerSetup {
  Backend backend = Backend::Local;
  std::string bigbird_executable;             // local backend
  std::string python = "python3";             // tpu backend
  std::string tpu_worker;                     // tpu backend: path of bigbird_tpu_worker.py
};

struct WorkerCommand {
  std::vector<std::string> argv;
  std::string stdout_path;   // where the worker's stdout goes
  bool stdout_events = false;  // stdout carries JSON-line events (TPU worker)
};

// `model` and `inputs` are already resolved to absolute server paths.
WorkerCommand worker_command(const JobSpec& spec, const std::string& model, const std::map<std::string, std::string>& inputs,
                             const std::string& job_dir, const WorkerSetup& setup);

// The worker spec file the TPU worker reads (resolved paths, parameters, artifacts directory).
nlohmann::json tpu_worker_spec(const JobSpec& spec, const std::string& model,
                               const std::map<std::string, std::string>& inputs, const std::string& job_dir);

// One line of worker stderr (a CLI progress or log line) as an event: progress, metric or log.
nlohmann::json parse_worker_line(JobKind kind, const std::string& line);

}  // namespace bb::remote
