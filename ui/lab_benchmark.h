#pragma once
// The Attention Lab's performance harness (a benchmark, not a test): cold start to the first
// frame (fresh processes), UI-thread frame times of the 4096-token pattern, heatmap and text views,
// and the longest UI-thread stall while a forward pass runs on the worker. Prints one line per
// measurement and a final JSON line. Needs a display (xvfb-run -a on a server).
#include <QString>

namespace bb::ui {

struct BenchmarkOptions {
  QString modelDir;    // empty: the bundled model, else a random-weight "small" model (4 layers, 4096 positions)
  QString document;    // empty: the bundled Pride and Prejudice sample (cut to 4096 tokens)
  QString executable;  // bigbird-studio itself, for the cold-start runs
  int startRuns = 5;
  int frames = 120;
};

int runLabBenchmark(const BenchmarkOptions& options);

}  // namespace bb::ui
