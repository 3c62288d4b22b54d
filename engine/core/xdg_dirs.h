#pragma once
// The per-user directories of BigBird Studio, following the XDG Base Directory specification:
//   data   $XDG_DATA_HOME/bigbird-studio    (default ~/.local/share/bigbird-studio): fine-tuned models,
//          crash reports, anything the user creates through the app
//   config $XDG_CONFIG_HOME/bigbird-studio  (default ~/.config/bigbird-studio): settings, session
// Downloaded checkpoints are NOT stored here: they stay in the Hugging Face hub cache
// (engine/io/hf_cache.h, $HF_HUB_CACHE, default ~/.cache/huggingface/hub), shared with transformers.
// Relative XDG values are ignored, as the specification requires.
#include <string>

namespace bb::xdg {

inline constexpr const char* kAppDirName = "bigbird-studio";

std::string data_home();    // $XDG_DATA_HOME or $HOME/.local/share
std::string config_home();  // $XDG_CONFIG_HOME or $HOME/.config
std::string app_data_dir();    // data_home()/bigbird-studio
std::string app_config_dir();  // config_home()/bigbird-studio
// Creates dir (and parents) with mode 0700 for new levels; throws bb::Error naming it on failure.
std::string ensure_dir(const std::string& dir);

}  // namespace bb::xdg
