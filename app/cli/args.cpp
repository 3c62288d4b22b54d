#include "app/cli/args.h"

#include <cstdlib>

#include "engine/core/error.h"

namespace bb::cli {

Args::Args(const std::vector<std::string>& argv, const std::set<std::string>& options,
           const std::set<std::string>& flags) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "-h" || a == "--help") {
      help_ = true;
      continue;
    }
    if (a.rfind("--", 0) != 0 || a.size() == 2) {
      positional_.push_back(a);
      continue;
    }
    std::string key = a.substr(2), value;
    bool has_inline = false;
    if (auto eq = key.find('='); eq != std::string::npos) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
      has_inline = true;
    }
    if (flags.count(key)) {
      if (has_inline) throw Error("option --" + key + " takes no value");
      flags_set_.insert(key);
    } else if (options.count(key)) {
      if (!has_inline) {
        if (i + 1 >= argv.size()) throw Error("option --" + key + " needs a value");
        value = argv[++i];
      }
      values_[key] = value;
    } else {
      throw Error("unknown option --" + key + " (see --help)");
    }
  }
}

bool Args::has(const std::string& name) const { return values_.count(name) || flags_set_.count(name); }

std::optional<std::string> Args::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string Args::get_or(const std::string& name, const std::string& fallback) const {
  auto v = get(name);
  return v ? *v : fallback;
}

std::string Args::require(const std::string& name) const {
  auto v = get(name);
  if (!v) throw Error("missing required option --" + name);
  return *v;
}

int Args::get_int(const std::string& name, int fallback) const {
  auto v = get(name);
  if (!v) return fallback;
  char* end = nullptr;
  long x = std::strtol(v->c_str(), &end, 10);
  if (v->empty() || *end != '\0') throw Error("--" + name + " expects an integer, got '" + *v + "'");
  return int(x);
}

double Args::get_double(const std::string& name, double fallback) const {
  auto v = get(name);
  if (!v) return fallback;
  char* end = nullptr;
  double x = std::strtod(v->c_str(), &end);
  if (v->empty() || *end != '\0') throw Error("--" + name + " expects a number, got '" + *v + "'");
  return x;
}

std::vector<std::string> Args::get_list(const std::string& name,
                                        const std::vector<std::string>& fallback) const {
  auto v = get(name);
  if (!v) return fallback;
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= v->size()) {
    size_t comma = v->find(',', start);
    if (comma == std::string::npos) comma = v->size();
    std::string item = v->substr(start, comma - start);
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

}  // namespace bb::cli
