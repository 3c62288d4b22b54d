#pragma once
// --backend cpu|vulkan|auto and --device SPEC: the one parser for every command that runs a model.
#include <set>
#include <string>

#include "app/cli/args.h"
#include "engine/backend/encoder_backend.h"

namespace bb::cli {

// Option names (without --) understood by parse_backend_flags.
const std::set<std::string>& backend_option_names();
extern const char* kBackendFlagsHelp;

// Default: the CPU. Throws bb::Error on an unknown backend or a --device with --backend cpu.
backend::Selection parse_backend_flags(const Args& args);

}  // namespace bb::cli
