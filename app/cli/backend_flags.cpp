#include "app/cli/backend_flags.h"

#include "engine/core/error.h"

namespace bb::cli {

const std::set<std::string>& backend_option_names() {
  static const std::set<std::string> names = {"backend", "device"};
  return names;
}

const char* kBackendFlagsHelp =
    R"(  --backend cpu|vulkan|auto   compute backend (default cpu). vulkan runs what the GPU supports and falls
                              back to the CPU with a one-line reason; auto uses a GPU if there is one
  --device SPEC               Vulkan device: index or name substring (default: best; see `bigbird devices`))";

backend::Selection parse_backend_flags(const Args& args) {
  backend::Selection s;
  s.kind = backend::parse_kind(args.get_or("backend", "cpu"));
  s.device = args.get_or("device", "");
  if (args.has("device") && s.kind == backend::Kind::Cpu)
    throw Error("--device " + s.device + " needs --backend vulkan or auto");
  return s;
}

}  // namespace bb::cli
