#pragma once
// Live plots of a fine-tuning run drawn with ImDrawList (no plotting library): training loss,
// learning rate, throughput (tokens/s) and the evaluation metrics, each over optimizer steps.
#include <memory>
#include <string>

#include "ui/finetune/training_series.h"
#include "ui/imgui_widget.h"

namespace bb::ui {

class TrainingPlotsView : public ImGuiView {
 public:
  explicit TrainingPlotsView(std::shared_ptr<const TrainingSeries> series) : series_(std::move(series)) {}
  const char* title() const override { return "Training plots"; }
  void draw() override;
  std::string exportName() const override { return "training"; }
  std::string exportCsv() const override { return series_->empty() ? std::string() : series_->csv(); }
  // Points drawn in the last frame, over all plots (tests: the plots really received the data).
  int pointsDrawn() const { return pointsDrawn_; }

 private:
  std::shared_ptr<const TrainingSeries> series_;
  int pointsDrawn_ = 0;
};

}  // namespace bb::ui
