#pragma once
// bigbird-studio --self-test: proves an installation works on this machine. Checks the bundled
// resources (vocabularies, samples, tour, default model when installed), opens the main window,
// renders every dock once and checks each produced a non-blank image. Prints one line per check.
namespace bb::app {

// 0 when every check passed, 1 otherwise (the failing checks are printed on stderr).
int runSelfTest();

}  // namespace bb::app
