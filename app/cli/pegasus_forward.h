#pragma once
// `bigbird forward` for BigBird-Pegasus checkpoints (forward_command.cpp dispatches here on the
// config's model_type): decoder_input_ids in, logits and encoder_last_hidden_state out.
#include <string>

#include "app/cli/args.h"

namespace bb::cli {

bool is_pegasus_model_dir(const std::string& dir);  // config.json says model_type bigbird_pegasus
int run_pegasus_forward(const Args& args);

}  // namespace bb::cli
