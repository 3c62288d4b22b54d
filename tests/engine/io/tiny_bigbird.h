#pragma once
// The tiny BigBird-MLM of tests/data/checkpoints/pytorch/generated_torch_1.13.1 (H=8, 2 heads,
// FFN 16, vocab 16, 8 positions, 1 layer): its config.json and a model directory around any of
// its weight files, for loader and save tests.
#include <filesystem>
#include <string>

#include "engine/io/atomic_file.h"
#include "engine/models/bigbird_model.h"
#include "tests/engine/io/checkpoint_test_util.h"

namespace bb::testing {

inline const char* kTinyBigBirdConfig = R"({
  "architectures": ["BigBirdForMaskedLM"],
  "model_type": "big_bird",
  "attention_type": "original_full",
  "block_size": 2,
  "num_random_blocks": 1,
  "hidden_act": "gelu_new",
  "hidden_size": 8,
  "intermediate_size": 16,
  "layer_norm_eps": 1e-12,
  "max_position_embeddings": 8,
  "num_attention_heads": 2,
  "num_hidden_layers": 1,
  "type_vocab_size": 2,
  "vocab_size": 16,
  "pad_token_id": 0,
  "bos_token_id": 1,
  "eos_token_id": 2,
  "sep_token_id": 3
})";

inline std::string torch_fixture(const std::string& name) {
  return checkpoint_data("pytorch/generated_torch_1.13.1/" + name);
}

// dir/config.json + dir/<weights_name> (a copy of `weights`).
inline void make_model_dir(const std::string& dir, const std::string& weights, const std::string& weights_name) {
  std::filesystem::create_directories(dir);
  io::write_file_atomic(dir + "/config.json", std::string(kTinyBigBirdConfig));
  std::filesystem::copy_file(weights, dir + "/" + weights_name, std::filesystem::copy_options::overwrite_existing);
}

inline EncoderOutputs run_tiny(const BigBirdModel& m) {
  EncoderInputs in;
  in.input_ids = I64Tensor::from({2, 6}, {1, 5, 9, 3, 14, 2, 4, 4, 7, 0, 15, 2});
  in.attention_mask = I64Tensor::from({2, 6}, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0});
  EncoderOptions opt;
  opt.head = Head::MaskedLM;
  return m.forward(in, opt);
}

inline bool bitwise_equal(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && (a.numel() == 0 || std::memcmp(a.data(), b.data(), a.bytes()) == 0);
}

}  // namespace bb::testing
