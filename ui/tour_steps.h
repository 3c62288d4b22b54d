#pragma once
// The teaching tour's steps: Markdown files (resources/tour/NN-name.md, compiled into the app)
// whose leading comment sets up the live pattern view for that step:
//   <!-- step
//   kinds: global, window        which kinds of blocks are drawn (all, none, or a list)
//   length: 1024                 input length, block size, random blocks, attention type
//   block: 64
//   random: 3
//   attention: block_sparse
//   focus: 5                     a query block to outline (optional; "none")
//   caption: Global blocks only  drawn over the grid
//   -->
#include <QString>
#include <string>
#include <vector>

#include "ui/mask_config.h"

namespace bb::ui {

struct TourStep {
  QString file;
  std::string title;  // the first "# " heading
  std::string body;   // Markdown without the leading comment
  MaskConfig pattern;
  uint8_t kinds = 7;  // KindMask
  int focusQuery = -1;
  std::string caption;
};

// Parses one step; throws bb::Error naming the file and the bad line.
TourStep parseTourStep(const QString& file, const std::string& text);
// Every step compiled into the app (":/tour/*.md"), in file-name order.
std::vector<TourStep> loadTourSteps();

}  // namespace bb::ui
