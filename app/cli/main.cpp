// bigbird: the headless command-line interface to the engine. Each subcommand is one file.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "app/cli/command.h"
#include "engine/backend/vulkan/vk_release.h"
#include "engine/core/error.h"

namespace bb::cli {

namespace {
std::vector<Command>& registry() {
  static std::vector<Command> r;
  return r;
}
}  // namespace

Registrar::Registrar(Command command) { registry().push_back(std::move(command)); }

const std::vector<Command>& commands() {
  auto& r = registry();
  std::sort(r.begin(), r.end(), [](const Command& a, const Command& b) { return a.name < b.name; });
  return r;
}

}  // namespace bb::cli

static void print_help() {
  std::printf("bigbird %s - BigBird Studio engine on the command line\n\n", BIGBIRD_VERSION);
  std::printf("usage: bigbird <command> [options]   (bigbird <command> --help for details)\n\ncommands:\n");
  for (const auto& c : bb::cli::commands()) std::printf("  %-12s %s\n", c.name.c_str(), c.summary.c_str());
}

int main(int argc, char** argv) {
  const bb::vk::DeviceReleaseGuard release_devices_on_return;
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" ||
      std::string(argv[1]) == "help") {
    print_help();
    return argc < 2 ? 2 : 0;
  }
  std::string name = argv[1];
  if (name == "--version" || name == "version") {
    const std::string arch = BIGBIRD_ARCH_LEVEL;
    std::printf("bigbird %s (engine kernels: %s)\n", BIGBIRD_VERSION, arch.empty() ? "compiler default" : arch.c_str());
    return 0;
  }
  for (const auto& c : bb::cli::commands()) {
    if (c.name != name) continue;
    std::vector<std::string> args(argv + 2, argv + argc);
    if (std::find(args.begin(), args.end(), "--help") != args.end() ||
        std::find(args.begin(), args.end(), "-h") != args.end()) {
      std::printf("%s\n", c.usage.c_str());
      return 0;
    }
    try {
      return c.run(args);
    } catch (const bb::Error& e) {
      std::fprintf(stderr, "bigbird %s: error: %s\n", name.c_str(), e.what());
      return 1;
    } catch (const std::bad_alloc&) {
      std::fprintf(stderr, "bigbird %s: error: out of memory\n", name.c_str());
      return 1;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bigbird %s: error: %s\n", name.c_str(), e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "bigbird: unknown command '%s' (see bigbird --help)\n", name.c_str());
  return 2;
}
