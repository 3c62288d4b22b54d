#pragma once
// Training checkpoints: <out>/checkpoints/step-<N>/ holds
//   config.json + model.safetensors   the model, loadable by HF from_pretrained as it is
//   optimizer.safetensors             m.<name>, v.<name> (F32) and the optimizer step count
//   trainer_state.json                step, loss history, run fingerprint (what must match to resume)
// A checkpoint is written into a temporary directory and renamed into place, then
// <out>/checkpoints/latest (one line: the directory name) is replaced atomically. A crash or a full
// disk at any point leaves the previous checkpoint and `latest` intact.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/train/optimizer.h"
#include "engine/train/trainable_bigbird.h"

namespace bb::train {

struct TrainerState {
  int64_t step = 0;            // optimizer steps completed
  std::vector<double> losses;  // training loss of every completed step
  std::string fingerprint;     // JSON text of the settings that must not change across a resume
};

// Saves and returns the checkpoint directory; removes older checkpoints beyond `keep` (0 = keep all).
std::string save_checkpoint(const std::string& out_dir, const TrainableBigBird& model, const Optimizer& optimizer,
                            const TrainerState& state, int keep = 0);
// The same for any model: save_model(dir) writes config.json + model.safetensors into dir.
std::string save_checkpoint(const std::string& out_dir, const std::function<void(const std::string&)>& save_model,
                            const Optimizer& optimizer, const TrainerState& state, int keep = 0);

// The directory `latest` points to, if any (a stale pointer to a missing directory is an error).
std::optional<std::string> latest_checkpoint(const std::string& out_dir);

struct LoadedCheckpoint {
  std::string dir;
  TrainerState state;
};
// Reads the trainer state and restores the optimizer; the model is loaded from `dir` by the caller.
LoadedCheckpoint load_checkpoint_state(const std::string& dir, Optimizer& optimizer);

}  // namespace bb::train
