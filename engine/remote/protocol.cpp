#include "engine/remote/protocol.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <set>

#include "engine/core/error.h"

namespace bb::remote {

std::string to_string(JobState s) {
  switch (s) {
    case JobState::Queued: return "queued";
    case JobState::Running: return "running";
    case JobState::Succeeded: return "succeeded";
    case JobState::Failed: return "failed";
    case JobState::Cancelled: return "cancelled";
  }
  return "?";
}

JobState parse_job_state(const std::string& s) {
  for (JobState x : {JobState::Queued, JobState::Running, JobState::Succeeded, JobState::Failed, JobState::Cancelled})
    if (to_string(x) == s) return x;
  throw Error("unknown job state '" + s + "'");
}

bool is_terminal(JobState s) { return s == JobState::Succeeded || s == JobState::Failed || s == JobState::Cancelled; }

std::string to_string(JobKind k) {
  switch (k) {
    case JobKind::Summarize: return "summarize";
    case JobKind::Forward: return "forward";
    case JobKind::Finetune: return "finetune";
    case JobKind::Evaluate: return "evaluate";
  }
  return "?";
}

JobKind parse_job_kind(const std::string& s) {
  for (JobKind k : {JobKind::Summarize, JobKind::Forward, JobKind::Finetune, JobKind::Evaluate})
    if (to_string(k) == s) return k;
  throw Error("job spec: unknown kind '" + s + "' (summarize, forward, finetune, evaluate)");
}

std::string relative_path_problem(std::string_view path) {
  if (path.empty()) return "empty path";
  if (path.size() > 200) return "path longer than 200 bytes";
  int components = 0;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    const std::string_view c = path.substr(start, slash - start);
    if (c.empty()) return "empty path component (absolute path or '//')";
    if (c == "." || c == "..") return std::string(c).append(" is not allowed as a path component");
    if (c.front() == '.') return "path components must not start with '.'";
    for (char ch : c)
      if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-'))
        return "only letters, digits, '.', '_' and '-' are allowed in a path";
    if (++components > 8) return "more than 8 path components";
    start = slash + 1;
  }
  return "";
}

namespace {

struct KindRules {
  std::vector<std::string> required, optional;  // input roles
  std::set<std::string> options, flags;         // CLI parameters a client may set
};

const KindRules& rules(JobKind k) {
  static const KindRules summarize{{"document"},
                                   {},
                                   {"beams", "num-beams", "max-length", "min-length", "length-penalty", "early-stopping",
                                    "no-repeat-ngram-size", "beam-scoring", "long", "convention", "max-input-tokens",
                                    "random-blocks", "threads", "cross-attention"},
                                   {}};
  static const KindRules forward{{"inputs"},
                                 {},
                                 {"head", "attention-type", "random-blocks", "attentions-format", "threads"},
                                 {"attentions", "hidden-states"}};
  static const KindRules finetune{
      {"train"},
      {"eval", "tokenizer"},
      {"task", "format", "text-column", "label-column", "labels", "max-length", "batch-size", "grad-accum", "steps",
       "epochs", "lr", "schedule", "warmup", "power", "optimizer", "weight-decay", "eps", "beta1", "beta2",
       "max-grad-norm", "attention-type", "random-blocks", "dropout", "eval-every", "save-every", "keep-checkpoints",
       "eval-split", "max-eval", "mask-prob", "doc-stride", "max-answer-length", "seed", "threads"},
      {"gradient-checkpointing", "whole-word"}};
  static const KindRules evaluate{
      {"eval"},
      {"tokenizer"},
      {"task", "format", "text-column", "label-column", "labels", "max-length", "batch-size", "attention-type",
       "random-blocks", "max-eval", "mask-prob", "doc-stride", "max-answer-length", "seed", "threads"},
      {"whole-word"}};
  switch (k) {
    case JobKind::Summarize: return summarize;
    case JobKind::Forward: return forward;
    case JobKind::Finetune: return finetune;
    case JobKind::Evaluate: return evaluate;
  }
  return summarize;
}

void check_reference(const std::string& ref, const std::string& key, bool model) {
  const bool upload = ref.rfind("uploads/", 0) == 0;
  const bool server_model = model && ref.rfind("models/", 0) == 0;
  if (!upload && !server_model)
    throw Error("job spec: " + key + " '" + ref + "' must start with uploads/" + (model ? " or models/" : ""));
  const std::string rest = ref.substr(upload ? 8 : 7);
  if (const std::string p = relative_path_problem(rest); !p.empty()) throw Error("job spec: " + key + ": " + p);
}

std::string scalar_text(const nlohmann::json& v, const std::string& key) {
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s.empty() || s.size() > 1000) throw Error("job spec: params." + key + " must be a non-empty string of at most 1000 bytes");
    for (char c : s)
      if (c == '\0' || c == '\n' || c == '\r') throw Error("job spec: params." + key + " contains a control character");
    return s;
  }
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d)) throw Error("job spec: params." + key + " must be finite");
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", d);
    return buf;
  }
  throw Error("job spec: params." + key + " must be a string or a number");
}

}  // namespace

std::vector<std::string> required_inputs(JobKind k) { return rules(k).required; }
std::vector<std::string> optional_inputs(JobKind k) { return rules(k).optional; }

JobSpec JobSpec::from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw Error("job spec: expected a JSON object");
  for (const auto& [key, value] : j.items())
    if (key != "kind" && key != "model" && key != "inputs" && key != "params")
      throw Error("job spec: unknown key '" + key + "' (kind, model, inputs, params)");
  if (!j.contains("kind") || !j["kind"].is_string()) throw Error("job spec: 'kind' (a string) is required");
  if (!j.contains("model") || !j["model"].is_string()) throw Error("job spec: 'model' (a string) is required");
  JobSpec s;
  s.kind = parse_job_kind(j["kind"].get<std::string>());
  s.model = j["model"].get<std::string>();
  check_reference(s.model, "model", true);
  const KindRules& r = rules(s.kind);
  if (j.contains("inputs")) {
    if (!j["inputs"].is_object()) throw Error("job spec: 'inputs' must be an object of role: reference");
    for (const auto& [role, ref] : j["inputs"].items()) {
      const bool known = std::count(r.required.begin(), r.required.end(), role) ||
                         std::count(r.optional.begin(), r.optional.end(), role);
      if (!known) throw Error("job spec: " + to_string(s.kind) + " has no input '" + role + "'");
      if (!ref.is_string()) throw Error("job spec: inputs." + role + " must be a string");
      check_reference(ref.get<std::string>(), "inputs." + role, false);
      s.inputs[role] = ref.get<std::string>();
    }
  }
  for (const std::string& role : r.required)
    if (!s.inputs.count(role)) throw Error("job spec: " + to_string(s.kind) + " needs inputs." + role);
  if (j.contains("params")) {
    if (!j["params"].is_object()) throw Error("job spec: 'params' must be an object");
    for (const auto& [key, value] : j["params"].items()) {
      if (r.flags.count(key)) {
        if (!value.is_boolean()) throw Error("job spec: params." + key + " must be true or false");
        if (value.get<bool>()) s.flags.push_back(key);
      } else if (r.options.count(key)) {
        s.options.emplace_back(key, scalar_text(value, key));
      } else {
        throw Error("job spec: " + to_string(s.kind) + " has no parameter '" + key + "'");
      }
    }
  }
  if ((s.kind == JobKind::Finetune || s.kind == JobKind::Evaluate) && std::none_of(s.options.begin(), s.options.end(), [](const auto& o) { return o.first == "task"; }))
    throw Error("job spec: " + to_string(s.kind) + " needs params.task (cls, qa or mlm)");
  return s;
}

nlohmann::json JobSpec::to_json() const {
  nlohmann::json params = nlohmann::json::object();
  for (const auto& [k, v] : options) params[k] = v;
  for (const std::string& f : flags) params[f] = true;
  return {{"kind", to_string(kind)}, {"model", model}, {"inputs", inputs}, {"params", params}};
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Compare every byte of the longer string so the time does not reveal a matching prefix.
  const size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

std::string random_hex(size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), int(bytes)) != 1) throw Error("cannot get random bytes from OpenSSL");
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : buf) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

}  // namespace bb::remote
