// Format detection from the first/last bytes, on the real fixture files of every format.
#include <gtest/gtest.h>

#include <filesystem>

#include "engine/io/checkpoint_format.h"
#include "tests/engine/io/io_test_util.h"

namespace io = bb::io;
using io::CheckpointFormat;

namespace {
const std::string kCk = std::string(BIGBIRD_TEST_DATA) + "/checkpoints";
}

TEST(CheckpointFormat, RealFixtures) {
  const std::pair<std::string, CheckpointFormat> cases[] = {
      {"safetensors/safetensors_cpp/model.safetensors", CheckpointFormat::Safetensors},
      {"safetensors/hf_safetensors_samples_2022/overall.safetensors", CheckpointFormat::Safetensors},
      {"safetensors/safetensors_cpp/safetensors_abuse_attempt_1.safetensors", CheckpointFormat::Unknown},
      {"pytorch/generated_torch_1.13.1/tiny_bigbird_state_dict_zip.bin", CheckpointFormat::PyTorchZip},
      {"pytorch/generated_torch_1.13.1/tiny_bigbird_state_dict_legacy.bin", CheckpointFormat::PyTorchLegacy},
      {"pytorch/gopickle/tensor_float32_proto1.pt", CheckpointFormat::PyTorchLegacy},
      {"pytorch/gopickle/tensor_float32_proto2.pt", CheckpointFormat::PyTorchLegacy},
      {"pytorch/gopickle/tensor_float32_proto3.pt", CheckpointFormat::PyTorchLegacy},
      {"pytorch/gopickle/tensor_float32_proto4.pt", CheckpointFormat::PyTorchLegacy},
      {"pytorch/gopickle/tensor_float32_proto5.pt", CheckpointFormat::PyTorchLegacy},
      {"pytorch/gopickle/tensor_float32_proto5_zip.pt", CheckpointFormat::PyTorchZip},
      {"tensorflow/tfrust_regression_tf1_names/variables.index", CheckpointFormat::TensorFlowIndex},
      {"tensorflow/index_only/minigo.index", CheckpointFormat::TensorFlowIndex},
      {"tensorflow/tfrust_regression_tf1_names/variables.data-00000-of-00001", CheckpointFormat::Unknown},
      {"safetensors/expected.json", CheckpointFormat::Unknown},
  };
  for (const auto& [rel, want] : cases) {
    if (!std::filesystem::exists(kCk + "/" + rel)) {
      ADD_FAILURE() << "missing fixture " << rel;
      continue;
    }
    EXPECT_EQ(io::to_string(io::detect_checkpoint_format(kCk + "/" + rel)), std::string(io::to_string(want))) << rel;
  }
}

TEST(CheckpointFormat, SmallAndMissingFiles) {
  bb::testing::TempDir dir;
  bb::testing::write_bytes(dir.file("empty"), {});
  EXPECT_EQ(io::detect_checkpoint_format(dir.file("empty")), CheckpointFormat::Unknown);
  bb::testing::write_bytes(dir.file("pk"), {0x50, 0x4B, 0x03, 0x04});
  EXPECT_EQ(io::detect_checkpoint_format(dir.file("pk")), CheckpointFormat::PyTorchZip);
  bb::testing::write_bytes(dir.file("preview"), {'P', 'Y', 'T', 'O', 'R', 'C', 'H', '1'});
  EXPECT_EQ(io::detect_checkpoint_format(dir.file("preview")), CheckpointFormat::PyTorchPreview);
  EXPECT_EQ(bb::testing::error_of([&] { io::detect_checkpoint_format(dir.file("nope")); }),
            "cannot open " + dir.file("nope") + ": No such file or directory");
  EXPECT_EQ(bb::testing::error_of([&] { io::detect_checkpoint_format(dir.path); }), "cannot open " + dir.path + ": not a regular file");
}
