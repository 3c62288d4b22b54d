#pragma once
// Model directories and synthetic datasets for the fine-tuning tests.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/io/atomic_file.h"
#include "engine/io/safetensors.h"
#include "engine/models/config.h"
#include "engine/models/random_weights.h"
#include "tests/engine/train/train_test_util.h"

namespace bbtest {

inline std::string scratch_dir(const std::string& name) {
  const std::filesystem::path p =
      std::filesystem::temp_directory_path() / ("bb-train-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

// A small model with the real gpt2.model vocabulary (50358), so the bundled tokenizer drives it.
inline bb::ModelConfig small_gpt2_vocab_config() {
  bb::ModelConfig c;
  c.architectures = {"BigBirdForMaskedLM"};
  c.vocab_size = 50358;
  c.hidden_size = 32;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.intermediate_size = 64;
  c.max_position_embeddings = 256;
  c.block_size = 8;
  c.num_random_blocks = 1;
  c.hidden_dropout_prob = 0.1;
  c.attention_probs_dropout_prob = 0.1;
  return c;
}

// HF-style initialisation (std 0.02, LayerNorm 1 / 0), as a freshly built HF model.
inline void write_model_dir(const std::string& dir, const bb::ModelConfig& c, uint64_t seed) {
  std::filesystem::create_directories(dir);
  bb::io::write_file_atomic(dir + "/config.json", bb::config_to_json(c));
  bb::ParameterStore p = bb::random_bigbird_mlm_parameters(c, seed);
  bb::io::SafetensorsWriter w;
  for (const std::string& name : p.names()) w.add(name, p.get(name));
  w.write(dir + "/model.safetensors");
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

// Sentiment-like toy task: every word of a text is, with probability 1/2, drawn from its class's
// cue words (12 per class), else from shared filler words; 8-20 words. Deterministic in the seed.
inline std::string synthetic_classification_csv(int rows, uint64_t seed) {
  const std::vector<std::string> filler = {"the",    "movie", "was",  "a",    "story", "about",
                                           "people", "in",    "city", "with", "some",  "long"};
  const std::vector<std::string> pos = {"excellent", "wonderful", "brilliant", "delightful", "great", "superb",
                                        "lovely",    "charming",  "moving",    "beautiful",  "fine",  "warm"};
  const std::vector<std::string> neg = {"terrible", "awful", "boring", "dreadful", "poor",  "weak",
                                        "dull",     "bad",   "ugly",   "tedious",  "messy", "cold"};
  std::string csv = "text,label\n";
  for (int r = 0; r < rows; ++r) {
    const uint64_t h = mix64(seed * 1000003 + uint64_t(r));
    const int label = int(h & 1);
    const int n = 8 + int((h >> 8) % 13);
    std::string text;
    for (int i = 0; i < n; ++i) {
      const uint64_t w = mix64(h + uint64_t(i) * 31);
      if (!text.empty()) text += ' ';
      text += (w & 1) ? (label ? pos : neg)[(w >> 1) % 12] : filler[(w >> 1) % filler.size()];
    }
    csv += "\"" + text + "\"," + (label ? "positive" : "negative") + "\n";
  }
  return csv;
}

// Plain sentences from a tiny grammar (for MLM): predictable enough that a small model's loss drops.
inline std::string synthetic_corpus(int lines, uint64_t seed) {
  const std::vector<std::string> names = {"Emma", "Harriet", "Mr Knightley", "Jane", "Frank", "Miss Bates"};
  const std::vector<std::string> verbs = {"walked to", "wrote to", "spoke of", "visited", "thought of", "laughed at"};
  const std::vector<std::string> places = {"Highbury", "Hartfield", "Donwell Abbey", "Randalls", "the vicarage"};
  const std::vector<std::string> times = {"in the morning", "after dinner", "on Sunday", "before the ball"};
  std::string out;
  for (int i = 0; i < lines; ++i) {
    const uint64_t h = mix64(seed * 7919 + uint64_t(i));
    out += names[h % names.size()] + " " + verbs[(h >> 8) % verbs.size()] + " " + places[(h >> 16) % places.size()] +
           " " + times[(h >> 24) % times.size()] + ".\n";
  }
  return out;
}

inline std::string read_file_or_empty(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

inline std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::ifstream f(path);
  std::vector<nlohmann::json> out;
  std::string line;
  while (std::getline(f, line))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

inline int run_cli(const std::string& args, const std::string& log = "/dev/null") {
  const std::string cmd = std::string(BIGBIRD_CLI) + " " + args + " > " + log + " 2>&1";
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace bbtest
