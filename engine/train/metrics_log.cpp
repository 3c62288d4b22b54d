#include "engine/train/metrics_log.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/core/error.h"

namespace bb::train {

namespace fs = std::filesystem;

namespace {

// Keeps the lines of `path` whose step is <= max_step (`step_of` parses a line; header lines pass).
void truncate_log(const std::string& path, int64_t max_step, int64_t (*step_of)(const std::string&)) {
  std::ifstream in(path);
  if (!in) return;
  std::string line, kept;
  while (std::getline(in, line)) {
    const int64_t s = step_of(line);
    if (s <= max_step) kept += line + "\n";
  }
  in.close();
  std::ofstream out(path, std::ios::trunc);
  out << kept;
}

int64_t jsonl_step(const std::string& line) {
  try {
    return nlohmann::json::parse(line).at("step").get<int64_t>();
  } catch (...) {
    return INT64_MAX;  // a torn last line from a killed run: drop it
  }
}

int64_t csv_step(const std::string& line) {
  if (line.rfind("step,", 0) == 0) return -1;  // header
  try {
    size_t used = 0;
    const int64_t s = std::stoll(line, &used);
    return used > 0 && used < line.size() && line[used] == ',' ? s : INT64_MAX;
  } catch (...) {
    return INT64_MAX;
  }
}

FILE* open_append(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "a");
  if (!f) throw Error(path + ": cannot open the metrics log (" + std::strerror(errno) + ")");
  return f;
}

std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

MetricsLog::MetricsLog(const std::string& out_dir, std::vector<std::string> eval_columns, int64_t resume_step)
    : eval_columns_(std::move(eval_columns)) {
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  jsonl_path_ = (fs::path(out_dir) / "metrics.jsonl").string();
  csv_path_ = (fs::path(out_dir) / "metrics.csv").string();
  if (resume_step >= 0) {
    truncate_log(jsonl_path_, resume_step, jsonl_step);
    truncate_log(csv_path_, resume_step, csv_step);
  } else {
    fs::remove(jsonl_path_, ec);
    fs::remove(csv_path_, ec);
  }
  const bool header = !fs::exists(csv_path_) || fs::file_size(csv_path_) == 0;
  jsonl_ = open_append(jsonl_path_);
  csv_ = open_append(csv_path_);
  if (header) {
    std::string h = "step,epoch,event,loss,lr,grad_norm,tokens_per_s,elapsed_s";
    for (const std::string& c : eval_columns_) h += "," + c;
    std::fprintf(csv_, "%s\n", h.c_str());
    std::fflush(csv_);
  }
}

MetricsLog::~MetricsLog() {
  if (jsonl_) std::fclose(jsonl_);
  if (csv_) std::fclose(csv_);
}

void MetricsLog::write(const TrainingEvent& e) {
  const bool eval = e.kind == TrainingEvent::Kind::Eval;
  if (!eval && e.kind != TrainingEvent::Kind::Step) return;
  nlohmann::json j;
  j["step"] = e.step;
  j["event"] = eval ? "eval" : "train";
  j["epoch"] = e.epoch;
  j["elapsed_s"] = e.elapsed_s;
  std::string row = std::to_string(e.step) + "," + num(e.epoch) + "," + (eval ? "eval" : "train") + ",";
  if (eval) {
    for (const auto& [k, v] : e.metrics) j[k] = v;
    row += ",,,," + num(e.elapsed_s);
  } else {
    j["loss"] = e.loss;
    j["lr"] = e.lr;
    j["grad_norm"] = e.grad_norm;
    j["tokens_per_s"] = e.tokens_per_s;
    j["rss_mb"] = double(e.rss_bytes) / 1048576.0;
    row += num(e.loss) + "," + num(e.lr) + "," + num(e.grad_norm) + "," + num(e.tokens_per_s) + "," + num(e.elapsed_s);
  }
  for (const std::string& c : eval_columns_) {
    row += ",";
    auto it = e.metrics.find(c);
    if (eval && it != e.metrics.end()) row += num(it->second);
  }
  std::fprintf(jsonl_, "%s\n", j.dump().c_str());
  std::fprintf(csv_, "%s\n", row.c_str());
  std::fflush(jsonl_);
  std::fflush(csv_);
}

}  // namespace bb::train
