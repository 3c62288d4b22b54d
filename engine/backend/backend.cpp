#include "engine/backend/backend.h"

#include <cstdio>
#include <mutex>

#include "engine/core/error.h"

namespace bb::backend {

namespace {

std::mutex& handler_mutex() {
  static std::mutex m;
  return m;
}

NoticeHandler& handler() {
  static NoticeHandler h;
  return h;
}

}  // namespace

Kind parse_kind(const std::string& s) {
  if (s == "cpu") return Kind::Cpu;
  if (s == "vulkan") return Kind::Vulkan;
  if (s == "auto") return Kind::Auto;
  throw Error("unknown backend '" + s + "' (expected cpu, vulkan or auto)");
}

std::string to_string(Kind k) {
  switch (k) {
    case Kind::Cpu:
      return "cpu";
    case Kind::Vulkan:
      return "vulkan";
    case Kind::Auto:
      return "auto";
  }
  return "cpu";
}

void set_notice_handler(NoticeHandler h) {
  std::lock_guard<std::mutex> lock(handler_mutex());
  handler() = std::move(h);
}

void notice(const std::string& line) {
  std::lock_guard<std::mutex> lock(handler_mutex());
  if (handler())
    handler()(line);
  else
    std::fprintf(stderr, "bigbird: %s\n", line.c_str());
}

void cpu_only(Kind requested, const std::string& what) {
  if (requested == Kind::Vulkan) notice("vulkan: " + what + " is not supported on the GPU yet; running on the CPU");
}

}  // namespace bb::backend
