#include "engine/backend/pegasus_decoder_backend.h"

#include <optional>

#include "engine/backend/vulkan/vk_error.h"
#include "engine/backend/vulkan/vk_runtime.h"
#include "engine/backend/vulkan/vulkan_pegasus_decoder.h"
#include "engine/backend/vulkan_fallback.h"
#include "engine/models/pegasus_decoder.h"

namespace bb::backend {

namespace {

std::string vulkan_label(const vk::VulkanPegasusDecoder& d) { return "vulkan (" + d.device()->info().name + ")"; }

// Steps on the GPU until a Vulkan failure, then on the CPU from a replay of every row's tokens.
class PegasusDecoderSession : public gen::DecoderSession {
 public:
  struct Inputs {
    Selection selection;
    const PegasusWeights* weights = nullptr;
    ModelConfig config;
    const Tensor* hidden = nullptr;
    const Tensor* source_mask = nullptr;
    std::vector<int32_t> row_source;
    int64_t capacity = 0;
    std::string* used = nullptr;
  };

  // `gpu` null: the CPU from the start.
  PegasusDecoderSession(PegasusDecoderBackend& owner, Inputs in, std::shared_ptr<vk::VulkanPegasusDecoder> gpu,
                        vk::DecoderState state)
      : owner_(owner), in_(std::move(in)), gpu_(std::move(gpu)), state_(std::move(state)),
        history_(in_.row_source.size()) {
    if (!gpu_) start_cpu();
  }

  Tensor step(const std::vector<int64_t>& tokens) override {
    if (int64_t(tokens.size()) != int64_t(in_.row_source.size()))
      throw Error("decoder step: " + std::to_string(tokens.size()) + " tokens for " +
                  std::to_string(in_.row_source.size()) + " rows");
    Tensor logits;
    if (gpu_) {
      try {
        logits = gpu_->step(state_, *in_.weights, tokens.data());
      } catch (const vk::VulkanError& e) {
        fall_back(e);
      }
    }
    if (!gpu_) logits = pegasus_decode(*in_.weights, in_.config, *cpu_, tokens.data(), 1, nullptr, false);
    for (size_t r = 0; r < tokens.size(); ++r) history_[r].push_back(tokens[r]);
    return logits;
  }

  void reorder(const std::vector<int32_t>& src) override {
    if (src.size() != history_.size())
      throw Error("reorder: " + std::to_string(src.size()) + " rows for a cache of " + std::to_string(history_.size()));
    for (int32_t s : src)
      if (s < 0 || size_t(s) >= history_.size()) throw Error("reorder: row " + std::to_string(s) + " does not exist");
    const std::vector<std::vector<int64_t>> history = history_;
    const std::vector<int32_t> sources = in_.row_source;
    for (size_t i = 0; i < src.size(); ++i) {
      history_[i] = history[size_t(src[i])];
      in_.row_source[i] = sources[size_t(src[i])];
    }
    if (gpu_) {
      try {
        gpu_->reorder(state_, src);
        return;
      } catch (const vk::VulkanError& e) {
        fall_back(e);  // the replay reads the reordered history: nothing left to reorder
        return;
      }
    }
    reorder_pegasus_cache(*cpu_, src);
  }

 private:
  void start_cpu() {
    cpu_ = start_pegasus_cache(*in_.weights, in_.config, *in_.hidden, *in_.source_mask, in_.row_source, in_.capacity);
  }

  void fall_back(const vk::VulkanError& e) {
    *in_.used = "cpu (fallback: " + owner_.disable(in_.selection, e, gpu_) + ")";
    state_ = vk::DecoderState();  // its buffers before the decoder that may hold the last device reference
    gpu_.reset();
    start_cpu();
    const size_t rows = history_.size(), fed = history_.empty() ? 0 : history_[0].size();
    std::vector<int64_t> ids(rows);
    for (size_t t = 0; t < fed; ++t) {  // token by token, as the CPU session fed them
      for (size_t r = 0; r < rows; ++r) ids[r] = history_[r][t];
      pegasus_decode(*in_.weights, in_.config, *cpu_, ids.data(), 1, nullptr, false);
    }
  }

  PegasusDecoderBackend& owner_;
  Inputs in_;
  std::shared_ptr<vk::VulkanPegasusDecoder> gpu_;
  vk::DecoderState state_;
  std::optional<PegasusCache> cpu_;
  std::vector<std::vector<int64_t>> history_;  // tokens fed per row, reordered with the rows
};

}  // namespace

PegasusDecoderBackend::PegasusDecoderBackend() = default;
PegasusDecoderBackend::~PegasusDecoderBackend() = default;

std::unique_ptr<gen::DecoderSession> PegasusDecoderBackend::start(const Selection& sel, const PegasusWeights& weights,
                                                                  const ModelConfig& config,
                                                                  const Tensor& encoder_hidden,
                                                                  const Tensor& source_mask,
                                                                  std::vector<int32_t> row_source, int64_t capacity,
                                                                  std::string* used) {
  PegasusDecoderSession::Inputs in{sel, &weights, config, &encoder_hidden, &source_mask, std::move(row_source),
                                   capacity, used};
  if (sel.kind == Kind::Cpu) {
    *used = "cpu";
    return std::make_unique<PegasusDecoderSession>(*this, std::move(in), nullptr, vk::DecoderState());
  }
  std::string reason;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const std::string key = to_string(sel.kind) + "|" + sel.device;
    if (key != vulkan_key_) {
      vulkan_.reset();
      disabled_reason_.clear();
      vulkan_key_ = key;
    }
    reason = disabled_reason_;
    if (reason.empty()) {
      std::shared_ptr<vk::Device> device;
      try {
        if (!vulkan_) {
          device = acquire_selected_device(sel);
          vulkan_ = std::make_shared<vk::VulkanPegasusDecoder>(device, weights, config);
        }
        vk::DecoderState state = vulkan_->start(encoder_hidden, source_mask, in.row_source, capacity);
        *used = vulkan_label(*vulkan_);
        return std::make_unique<PegasusDecoderSession>(*this, std::move(in), vulkan_, std::move(state));
      } catch (const vk::VulkanError& e) {
        reason = fallback_after_failure(sel, e, vulkan_ ? vulkan_->device() : device);
        vulkan_.reset();
        disabled_reason_ = reason;
      }
    }
  }
  *used = "cpu (fallback: " + reason + ")";
  return std::make_unique<PegasusDecoderSession>(*this, std::move(in), nullptr, vk::DecoderState());
}

std::string PegasusDecoderBackend::disable(const Selection& sel, const vk::VulkanError& e,
                                           const std::shared_ptr<vk::VulkanPegasusDecoder>& decoder) {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::string reason = fallback_after_failure(sel, e, decoder ? decoder->device() : nullptr);
  if (vulkan_ == decoder) {
    vulkan_.reset();
    disabled_reason_ = reason;
  }
  return reason;
}

}  // namespace bb::backend
