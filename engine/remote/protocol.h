#pragma once
// The remote runner's protocol (docs/remote-protocol.md): its version, job kinds and states, the
// job spec a client submits, and the single rule for every client-supplied path (upload names,
// artifact names), so path traversal is refused in one place.
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace bb::remote {

inline constexpr int kProtocolVersion = 1;

enum class JobState { Queued, Running, Succeeded, Failed, Cancelled };
std::string to_string(JobState s);
JobState parse_job_state(const std::string& s);  // throws bb::Error
bool is_terminal(JobState s);

enum class JobKind { Summarize, Forward, Finetune, Evaluate };
std::string to_string(JobKind k);
JobKind parse_job_kind(const std::string& s);  // throws bb::Error listing the kinds

// "" when `path` is a safe relative path: 1..8 '/'-separated components of [A-Za-z0-9._-], none
// empty, none starting with '.', at most 200 bytes. Otherwise the reason, for a 400 answer.
std::string relative_path_problem(std::string_view path);

// What a client submits (POST /v1/jobs). File references are "uploads/<path>" (an upload that
// was completed) or, for the model, "models/<name>" (a model directory offered by the server).
struct JobSpec {
  JobKind kind = JobKind::Summarize;
  std::string model;
  std::map<std::string, std::string> inputs;                 // role -> reference
  std::vector<std::pair<std::string, std::string>> options;  // CLI option -> value (sorted by name)
  std::vector<std::string> flags;                            // boolean CLI flags that are on

  // Strict: unknown keys, roles or parameters, a missing required input and non-scalar values
  // are refused with one line naming the key. Throws bb::Error.
  static JobSpec from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
};

// The required and optional input roles of a kind, e.g. summarize: document.
std::vector<std::string> required_inputs(JobKind k);
std::vector<std::string> optional_inputs(JobKind k);

// Constant-time comparison (the time depends only on the lengths, never on where they differ).
bool constant_time_equal(std::string_view a, std::string_view b);

// A new random id / token (hex of `bytes` random bytes from the OS).
std::string random_hex(size_t bytes);

}  // namespace bb::remote
