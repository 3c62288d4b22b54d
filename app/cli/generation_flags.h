#pragma once
// Generation options shared by `bigbird generate` and `bigbird summarize` (HF generate() names).
#include <set>
#include <string>

#include "app/cli/args.h"
#include "engine/generate/generation_config.h"

namespace bb::cli {

// Option names (without --) understood by apply_generation_flags.
const std::set<std::string>& generation_option_names();
extern const char* kGenerationFlagsHelp;

// Overrides `g` with the flags given; throws bb::Error on malformed or unsupported values
// (e.g. --do-sample true: sampling is not implemented).
void apply_generation_flags(const Args& args, gen::GenerationConfig& g);

}  // namespace bb::cli
