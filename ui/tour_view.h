#pragma once
// The teaching tour: a guided, step-by-step walk through BigBird's ITC attention (full attention,
// blocks, global, window, random, the block trick, the short-input fallback, padding, ITC vs ETC)
// on the live pattern view. Each step sets up the pattern view (through onApply); the learner can
// change the length, block size and random blocks at every step (through onTry).
#include <QRectF>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ui/imgui_widget.h"
#include "ui/tour_steps.h"

namespace bb::ui {

class TourView : public ImGuiView {
 public:
  explicit TourView(std::vector<TourStep> steps);
  const char* title() const override { return "Tour"; }
  void draw() override;
  std::string exportName() const override { return "tour-step-" + std::to_string(step_ + 1); }
  std::string exportJson() const override;

  int step() const { return step_; }
  int stepCount() const { return int(steps_.size()); }
  const TourStep& current() const { return steps_.at(size_t(step_)); }
  void setStep(int k);  // clamps, then applies the step to the live view
  void next() { setStep(step_ + 1); }
  void previous() { setStep(step_ - 1); }
  bool atEnd() const { return step_ + 1 >= stepCount(); }

  void setOnApply(std::function<void(const TourStep&, const MaskConfig&)> f) { onApply_ = std::move(f); }
  // The learner's values for this step (start from the step's own).
  const MaskConfig& tryConfig() const { return try_; }
  void setTryConfig(const MaskConfig& c);
  // Applies the current step (with the learner's values) again, e.g. when the tour panel reappears.
  void reapply() {
    if (onApply_) onApply_(current(), try_);
  }
  QRectF controlRect(const std::string& id) const;  // "next", "previous", "length", "block", "random"

 private:
  void remember(const std::string& id);
  std::vector<TourStep> steps_;
  int step_ = 0;
  MaskConfig try_;
  std::function<void(const TourStep&, const MaskConfig&)> onApply_;
  std::map<std::string, QRectF> controls_;
  bool scrollTop_ = false;
};

}  // namespace bb::ui
