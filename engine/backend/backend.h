#pragma once
// Which compute backend runs a model: the CPU (the reference), Vulkan, or auto (Vulkan on a
// GPU that passes the self-test, else the CPU). Vulkan failures never surface as errors or
// wrong numbers: the pass falls back to the CPU and a one-line notice says why.
#include <functional>
#include <string>

namespace bb::backend {

enum class Kind { Cpu, Vulkan, Auto };

Kind parse_kind(const std::string& s);  // cpu|vulkan|auto; throws bb::Error listing them
std::string to_string(Kind k);

// Where fallback notices go (one line each, e.g. "vulkan unavailable (...); running on the CPU").
// Default: stderr with a "bigbird: " prefix. The GUI installs its own.
using NoticeHandler = std::function<void(const std::string&)>;
void set_notice_handler(NoticeHandler handler);
void notice(const std::string& line);

// For work that has no Vulkan path yet (`what`, e.g. "the BigBird-Pegasus decoder"): with `vulkan`
// one notice "vulkan: <what> is not supported on the GPU yet; running on the CPU"; `auto` and
// `cpu` say nothing. The caller then runs that work on the CPU.
void cpu_only(Kind requested, const std::string& what);

}  // namespace bb::backend
