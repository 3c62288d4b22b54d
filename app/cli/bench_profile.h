#pragma once
// One line per measured configuration from a worker's "profile_s" object: stage times in
// milliseconds (GPU kernels take well under 10 ms, so seconds would print 0.00), counts as counts.
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

namespace bb::cli {

inline std::string format_profile(const std::string& label, const nlohmann::json& profile_s) {
  std::string line = label;
  for (const auto& [stage, value] : profile_s.items()) {
    char buf[128];
    if (stage.find("(count)") != std::string::npos)
      std::snprintf(buf, sizeof buf, " %s %.0f;", stage.c_str(), double(value));
    else
      std::snprintf(buf, sizeof buf, " %s %.1f ms;", stage.c_str(), 1e3 * double(value));
    line += buf;
  }
  return line;
}

}  // namespace bb::cli
