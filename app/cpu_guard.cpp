// The engine is compiled for one x86-64 level (BIGBIRD_ARCH, x86-64-v3 by default: AVX2 + FMA). On an
// older CPU its first such instruction would kill the process with SIGILL and no explanation. This
// file is compiled for the baseline ISA and its check runs before every other static initialiser of
// the program, so such a machine gets one clear line instead. BIGBIRD_CPU_CHECK_AS=<level> makes the
// check see a CPU of that level (tests/engine/app/tst_cpu_guard.cpp).
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

// 0 for the baseline, 2..4 for x86-64-v2..v4, -1 for anything else ("native", a CPU name, empty).
int level_number(const char* level) {
  if (std::strcmp(level, "x86-64") == 0) return 0;
  if (std::strncmp(level, "x86-64-v", 8) == 0 && level[8] >= '2' && level[8] <= '4' && level[9] == 0)
    return level[8] - '0';
  return -1;
}

bool cpu_has_level(const char* level) {
  const int needed = level_number(level);
  if (needed < 0) return true;  // built for the machine it runs on (or the compiler default): nothing to check
  if (const char* pretend = std::getenv("BIGBIRD_CPU_CHECK_AS"); pretend && *pretend)
    return level_number(pretend) >= needed;
  __builtin_cpu_init();  // constructors that run this early must initialise the CPU model first
  switch (needed) {
    case 2: return __builtin_cpu_supports("x86-64-v2");
    case 3: return __builtin_cpu_supports("x86-64-v3");
    case 4: return __builtin_cpu_supports("x86-64-v4");
    default: return true;
  }
}

const char* level_features(int level) {
  switch (level) {
    case 2: return "SSE4.2 and POPCNT";
    case 3: return "AVX2 and FMA";
    default: return "AVX-512";
  }
}

__attribute__((constructor(101))) void refuse_cpus_older_than_the_build() {
  const char* level = BIGBIRD_ARCH_LEVEL;
  if (cpu_has_level(level)) return;
  std::fprintf(stderr,
               "BigBird Studio: this build needs an %s CPU (%s) and this CPU is older; "
               "build from source with -DBIGBIRD_ARCH=x86-64 to run here.\n",
               level, level_features(level_number(level)));
  std::_Exit(1);
}

}  // namespace
