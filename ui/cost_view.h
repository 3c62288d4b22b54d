#pragma once
// The cost calculator: for a length, block size, r and model shape, the attended block pairs,
// FLOPs and attention-score memory of full vs block-sparse attention (engine/models/cost_model),
// a plot over length (quadratic vs linear), and the time this machine's engine actually takes,
// measured on the worker thread with a one-layer random-weight model of the same shape.
#include <QString>
#include <memory>
#include <string>
#include <vector>

#include "ui/imgui_widget.h"

namespace bb::ui {

class LabSession;

struct CostConfig {
  int64_t length = 4096;
  int block = 64;
  int random = 3;
  int heads = 12;
  int64_t hidden = 768;
  int layers = 12;
  int64_t intermediate = 3072;
  bool operator==(const CostConfig&) const = default;
};

struct CostRow {
  int64_t length = 0, nb = 0;
  bool fellBack = false;  // block_sparse falls back to full attention at this length
  int64_t pairsFull = 0, pairsSparse = 0;
  double flopsFull = 0, flopsSparse = 0;          // whole forward
  double attnFlopsFull = 0, attnFlopsSparse = 0;  // Q·Kᵀ and P·V only
  double scoreBytesFull = 0, scoreBytesSparse = 0;  // per layer, fp32
};

struct CostMeasurement {
  int64_t length = 0;
  double msFull = 0, msSparse = 0;  // one layer, best of the repeats
  bool sparseFellBack = false;
};

CostRow computeCostRow(const CostConfig& c, int64_t length);

class CostView : public ImGuiView {
 public:
  explicit CostView(LabSession* session);  // session may be null (no measurements then)
  const char* title() const override { return "Cost calculator"; }
  void draw() override;
  bool animating() const override;
  std::string exportName() const override { return "cost"; }
  std::string exportCsv() const override;
  std::string exportJson() const override;

  void setConfig(const CostConfig& c);
  const CostConfig& config() const { return config_; }
  // Runs the timing on the worker (lengths 512..4096, both attention types).
  void measure();
  const std::vector<CostMeasurement>& measurements() const { return measured_; }

 private:
  void drawInputs();
  void drawTable();
  void drawPlot(float height);
  std::vector<int64_t> plotLengths() const;

  LabSession* session_;
  CostConfig config_;
  CostConfig measuredFor_;
  std::vector<CostMeasurement> measured_;
  int metric_ = 0;  // 0 attention FLOPs, 1 total FLOPs, 2 score memory, 3 measured time
  bool logY_ = true;
  QString measureError_;
  std::shared_ptr<bool> measureAlive_ = std::make_shared<bool>(true);  // results of a task outliving the view are dropped
};

}  // namespace bb::ui
