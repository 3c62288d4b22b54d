#pragma once
// A randomly initialised BigBird-Pegasus with the real vocabulary (96103 pieces, so pegasus.model
// tokenizes for it), 4096 positions and block 64, but d_model 32 and 2+2 layers: fast enough for
// 4096-token documents in a unit test. Written once per test process to a temp directory.
#include <unistd.h>

#include <filesystem>
#include <string>

#include "engine/io/atomic_file.h"
#include "engine/io/safetensors.h"
#include "engine/models/pegasus_random_weights.h"

namespace bbtest {

inline std::string tiny_pegasus_dir(const std::string& extra_config_json = "") {
  static const std::string dir = [] {
    const std::string d = (std::filesystem::temp_directory_path() / ("bigbird-tiny-pegasus-" + std::to_string(getpid()))).string();
    std::filesystem::create_directories(d);
    const bb::ModelConfig c = bb::pegasus_shape_config("pegasus-tiny");
    bb::io::write_file_atomic(d + "/config.json", bb::config_to_json(c));
    const bb::ParameterStore p = bb::random_pegasus_parameters(c, 7);
    bb::io::SafetensorsWriter w;
    for (const std::string& n : p.names()) w.add(n, p.get(n));
    w.write(d + "/model.safetensors");
    return d;
  }();
  return dir;
}

struct TinyPegasusCleanup {
  ~TinyPegasusCleanup() {
    std::error_code ec;
    std::filesystem::remove_all(std::filesystem::temp_directory_path() / ("bigbird-tiny-pegasus-" + std::to_string(getpid())), ec);
  }
};

inline std::string pegasus_vocab() { return std::string(BIGBIRD_RESOURCE_DIR) + "/vocab/pegasus.model"; }

}  // namespace bbtest
