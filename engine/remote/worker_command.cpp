#include "engine/remote/worker_command.h"

#include <regex>

#include "engine/core/error.h"

namespace bb::remote {

Backend parse_backend(const std::string& s) {
  if (s == "local") return Backend::Local;
  if (s == "tpu") return Backend::Tpu;
  throw Error("unknown backend '" + s + "' (local, tpu)");
}

std::string to_string(Backend b) { return b == Backend::Local ? "local" : "tpu"; }

nlohmann::json tpu_worker_spec(const JobSpec& spec, const std::string& model,
                               const std::map<std::string, std::string>& inputs, const std::string& job_dir) {
  nlohmann::json j = spec.to_json();
  j["model_path"] = model;
  j["input_paths"] = inputs;
  j["artifacts_dir"] = job_dir + "/artifacts";
  return j;
}

WorkerCommand worker_command(const JobSpec& spec, const std::string& model, const std::map<std::string, std::string>& inputs,
                             const std::string& job_dir, const WorkerSetup& setup) {
  const std::string art = job_dir + "/artifacts";
  WorkerCommand w;
  if (setup.backend == Backend::Tpu) {
    if (setup.tpu_worker.empty()) throw Error("the tpu backend needs the worker script (--tpu-worker)");
    w.argv = {setup.python, setup.tpu_worker, "--spec", job_dir + "/worker-spec.json"};
    w.stdout_path = job_dir + "/worker-events.jsonl";
    w.stdout_events = true;
    return w;
  }
  if (setup.bigbird_executable.empty()) throw Error("the local backend needs the bigbird executable");
  std::vector<std::string>& a = w.argv;
  // evaluate is `finetune --eval-only` (metrics as one JSON line on stdout).
  a = {setup.bigbird_executable, spec.kind == JobKind::Evaluate ? "finetune" : to_string(spec.kind), "--model", model};
  switch (spec.kind) {
    case JobKind::Summarize:
      a.insert(a.end(), {"--file", inputs.at("document"), "--json", "--progress"});
      w.stdout_path = art + "/summary.json";
      break;
    case JobKind::Forward:
      a.insert(a.end(), {"--inputs", inputs.at("inputs"), "--out", art + "/outputs.safetensors"});
      w.stdout_path = art + "/stdout.txt";
      break;
    case JobKind::Finetune:
      a.insert(a.end(), {"--train", inputs.at("train"), "--out", art + "/finetune"});
      if (inputs.count("eval")) a.insert(a.end(), {"--eval", inputs.at("eval")});
      if (inputs.count("tokenizer")) a.insert(a.end(), {"--tokenizer", inputs.at("tokenizer")});
      w.stdout_path = art + "/stdout.txt";
      break;
    case JobKind::Evaluate:
      a.insert(a.end(), {"--eval-only", "--eval", inputs.at("eval")});
      if (inputs.count("tokenizer")) a.insert(a.end(), {"--tokenizer", inputs.at("tokenizer")});
      w.stdout_path = art + "/metrics.json";
      break;
  }
  for (const auto& [k, v] : spec.options) a.insert(a.end(), {"--" + k, v});
  for (const std::string& f : spec.flags) a.push_back("--" + f);
  return w;
}

nlohmann::json parse_worker_line(JobKind kind, const std::string& line) {
  static const std::regex encoder(R"(encoder\s+(\d+)%)");
  static const std::regex tokens(R"((\d+)/(\d+) tokens)");
  static const std::regex step(R"(step (\d+)/(\d+)\s+loss ([-+0-9.eEnaif]+)\s+lr ([-+0-9.eE]+))");
  static const std::regex eval_line(R"(^eval at step (\d+):(.*)$)");
  std::smatch m;
  if (kind == JobKind::Summarize) {
    if (std::regex_search(line, m, tokens))
      return {{"type", "progress"}, {"stage", "decode"}, {"done", std::stoll(m[1])}, {"total", std::stoll(m[2])}};
    if (std::regex_search(line, m, encoder))
      return {{"type", "progress"}, {"stage", "encode"}, {"done", std::stoll(m[1])}, {"total", 100}};
  }
  if (kind == JobKind::Finetune || kind == JobKind::Evaluate) {
    if (std::regex_search(line, m, step))
      return {{"type", "metric"}, {"step", std::stoll(m[1])}, {"total", std::stoll(m[2])},
              {"loss", std::strtod(m[3].str().c_str(), nullptr)}, {"lr", std::strtod(m[4].str().c_str(), nullptr)}};
    if (std::regex_search(line, m, eval_line)) {
      nlohmann::json e = {{"type", "metric"}, {"eval", true}, {"step", std::stoll(m[1])}};
      static const std::regex kv(R"(\s(\S+) ([-+0-9.eE]+))");
      const std::string rest = m[2];
      for (auto it = std::sregex_iterator(rest.begin(), rest.end(), kv); it != std::sregex_iterator(); ++it)
        e[(*it)[1].str()] = std::strtod((*it)[2].str().c_str(), nullptr);
      return e;
    }
  }
  return {{"type", "log"}, {"line", line}};
}

}  // namespace bb::remote
