#pragma once
// TensorFlow tensor bundles (<prefix>.index + <prefix>.data-NNNNN-of-NNNNN), as written by TF1
// Saver/Estimator and TF2 tf.train.Checkpoint / SavedModel (checkpoint-formats.md §3): the index
// SSTable (snappy blocks, CRCs), BundleHeaderProto, BundleEntryProto, sliced (partitioned)
// variables, multiple shards, big-endian bundles, and the TF2 object graph, whose full_name of each
// variable becomes its name here (so TF2 files are served under their TF1-style names).
// Tensor data is CRC-checked when read. Data shards are opened only when a tensor is read, so an
// index alone can be listed.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/io/mapped_file.h"
#include "engine/io/tensor_source.h"

namespace bb::io {

struct TfSlice {
  std::vector<int64_t> start, length;  // length -1 = the whole dimension
};

struct TfEntry {
  std::string key;    // as stored in the index
  std::string name;   // TF1-style name: the object graph's full_name when there is one, else the key
  int tf_dtype = 0;   // tensorflow DataType enum value
  bool supported = false;  // tf_dtype maps to `dtype`
  DType dtype = DType::F32;
  Shape shape;
  int32_t shard = 0;
  uint64_t offset = 0, size = 0;
  uint32_t crc_masked = 0;
  std::vector<TfSlice> slices;  // non-empty: a partitioned variable assembled from slice entries
};

const char* tf_dtype_name(int tf_dtype);  // "DT_FLOAT", ... or "DT_<n>"

// OrderedCode key of one slice of a partitioned variable (saved_tensor_slice_util.cc).
std::string tf_slice_key(const std::string& name, const TfSlice& slice);

class TfBundle final : public TensorSource {
 public:
  // `path`: the prefix, or the .index file. Throws bb::Error.
  static std::unique_ptr<TfBundle> open(const std::string& path);
  // Parses an index held in memory (fuzzing, tests); data shards are looked up next to `prefix`,
  // except shard 0 when `shard0` is given (held in memory too).
  static std::unique_ptr<TfBundle> from_index_bytes(std::vector<uint8_t> bytes, const std::string& prefix,
                                                    std::optional<std::vector<uint8_t>> shard0 = std::nullopt);

  std::string format() const override { return "tensorflow-bundle"; }
  const std::vector<SourceTensor>& tensors() const override { return summary_; }
  std::vector<std::string> files() const override;
  std::vector<std::string> other_entries() const override { return others_; }
  Tensor read_f32(const std::string& name) const override;
  std::vector<uint8_t> read_bytes(const std::string& name) const override;

  const std::string& prefix() const { return prefix_; }
  int num_shards() const { return num_shards_; }
  bool big_endian() const { return big_endian_; }
  bool has_object_graph() const { return has_object_graph_; }
  const std::vector<TfEntry>& entries() const { return entries_; }  // every key except "" and slice keys
  const TfEntry& entry(const std::string& name) const;  // by name or by key
  std::string shard_path(int shard) const;
  std::vector<std::string> missing_shards() const;
  // The strings of a DT_STRING tensor (CRC-checked).
  std::vector<std::string> read_strings(const std::string& name) const;

 private:
  TfBundle() = default;
  void parse(std::shared_ptr<MappedFile> index);
  std::span<const uint8_t> stored(const TfEntry& e, bool check_crc = true) const;  // bounds-checked bytes
  std::vector<uint8_t> read_plain(const TfEntry& e) const;
  void apply_object_graph();

  std::string prefix_;
  int num_shards_ = 1;
  bool big_endian_ = false;
  bool has_object_graph_ = false;
  std::vector<TfEntry> entries_;
  std::map<std::string, TfEntry> slice_entries_;  // by key
  std::map<std::string, size_t> by_key_, by_name_;
  std::vector<SourceTensor> summary_;
  std::vector<std::string> others_;
  mutable std::map<int, std::shared_ptr<MappedFile>> shards_;
};

}  // namespace bb::io
