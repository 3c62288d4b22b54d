// safetensors reader: mmap, validate everything (checkpoint-formats.md §1.2), then converting reads.
// Messages end with the reference's error name in parentheses where there is one, so a report
// can be matched with what huggingface/safetensors says about the same file.
#include "engine/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_map>
#include <utility>

#include "engine/core/error.h"
#include "engine/io/half_float.h"
#include "engine/io/json_strict.h"
#include "engine/core/utf8.h"

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

namespace bb::io {

using nlohmann::json;

namespace {

struct DTypeInfo {
  DType dtype;
  const char* name;
  size_t size;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::BOOL, "BOOL", 1}, {DType::U8, "U8", 1},    {DType::I8, "I8", 1},   {DType::I16, "I16", 2},
    {DType::U16, "U16", 2},   {DType::F16, "F16", 2},  {DType::BF16, "BF16", 2}, {DType::I32, "I32", 4},
    {DType::U32, "U32", 4},   {DType::F32, "F32", 4},  {DType::F64, "F64", 8},  {DType::I64, "I64", 8},
    {DType::U64, "U64", 8},
};

// Valid in the safetensors format (v0.6) but not readable here: refused by name, not as garbage.
constexpr const char* kKnownUnsupported[] = {"F4",          "F6_E2M3",     "F6_E3M2", "F8_E5M2",
                                             "F8_E4M3",     "F8_E8M0",     "F8_E4M3FNUZ",
                                             "F8_E5M2FNUZ", "C64"};

[[noreturn]] void tensor_error(const std::string& path, const std::string& name, const std::string& message) {
  throw Error(path + ": tensor " + quote_for_message(name) + ": " + message);
}

std::string supported_list() {
  std::string s;
  for (const auto& d : kDTypes) s += (s.empty() ? "" : ", ") + std::string(d.name);
  return s;
}

}  // namespace

const char* dtype_name(DType d) {
  for (const auto& x : kDTypes)
    if (x.dtype == d) return x.name;
  return "?";
}

size_t dtype_size(DType d) {
  for (const auto& x : kDTypes)
    if (x.dtype == d) return x.size;
  return 0;
}

bool parse_dtype(const std::string& s, DType* out) {
  for (const auto& x : kDTypes)
    if (s == x.name) {
      if (out) *out = x.dtype;
      return true;
    }
  return false;
}

bool is_floating(DType d) { return d == DType::F16 || d == DType::BF16 || d == DType::F32 || d == DType::F64; }

// ---------------------------------------------------------------------------------------------

struct SafetensorsFile::Impl {
  std::string path;
  const uint8_t* bytes = nullptr;  // whole file
  uint64_t size = 0;
  uint64_t header_len = 0;
  const uint8_t* data = nullptr;  // start of the data section
  // The mapping is shared with zero-copy tensors (map_f32), so it outlives this object when needed.
  std::shared_ptr<void> mapping;
  std::vector<uint8_t> owned;  // from_bytes()
  std::vector<TensorInfo> tensors;
  std::unordered_map<std::string, size_t> index;
  std::map<std::string, std::string> metadata;

  [[noreturn]] void fail(const std::string& message) const { throw Error(path + ": " + message); }
  [[noreturn]] void fail_tensor(const std::string& name, const std::string& message) const {
    tensor_error(path, name, message);
  }
  const TensorInfo& info(const std::string& name) const {
    auto it = index.find(name);
    if (it == index.end()) fail("no tensor named " + quote_for_message(name));
    return tensors[it->second];
  }
  const uint8_t* begin_of(const TensorInfo& t) const { return data + t.begin; }

  void validate();
  TensorInfo parse_tensor_entry(const std::string& name, const json& entry) const;
};

namespace {

const char* json_kind(const json& v) {
  if (v.is_number_float()) return "a fraction";
  if (v.is_number_integer() && v.get<int64_t>() < 0) return "negative";
  return v.type_name();
}

}  // namespace

TensorInfo SafetensorsFile::Impl::parse_tensor_entry(const std::string& name, const json& entry) const {
  if (!entry.is_object())
    fail_tensor(name, std::string("entry is ") + entry.type_name() + ", not an object (InvalidHeaderDeserialization)");
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!entry.contains(key)) fail_tensor(name, std::string("missing \"") + key + "\" (InvalidHeaderDeserialization)");

  TensorInfo t;
  t.name = name;
  const json& dtype = entry["dtype"];
  if (!dtype.is_string()) fail_tensor(name, "\"dtype\" is not a string (InvalidHeaderDeserialization)");
  const std::string dname = dtype.get<std::string>();
  if (!parse_dtype(dname, &t.dtype)) {
    for (const char* known : kKnownUnsupported)
      if (dname == known)
        fail_tensor(name, "dtype " + dname + " is not supported by this reader (supported: " + supported_list() + ")");
    fail_tensor(name, "unknown dtype " + quote_for_message(dname) + " (supported: " + supported_list() + ")");
  }

  // Unsigned integers <= 2^48 (the JSON schema's limit), which keeps every sum below 2^64.
  auto read_uint = [&](const json& v, const std::string& what) -> uint64_t {
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
      fail_tensor(name, what + " is " + json_kind(v) + ", not an unsigned integer (InvalidHeaderDeserialization)");
    const uint64_t x = v.get<uint64_t>();
    if (x > kMaxSafetensorsInt)
      fail_tensor(name, what + " = " + std::to_string(x) + " exceeds 2^48 (InvalidHeaderDeserialization)");
    return x;
  };

  const json& shape = entry["shape"];
  if (!shape.is_array()) fail_tensor(name, "\"shape\" is not an array (InvalidHeaderDeserialization)");
  for (size_t i = 0; i < shape.size(); ++i)
    t.shape.push_back(int64_t(read_uint(shape[i], "shape[" + std::to_string(i) + "]")));
  uint64_t numel = 1, nbytes = 0;
  for (int64_t d : t.shape)
    if (__builtin_mul_overflow(numel, uint64_t(d), &numel))
      fail_tensor(name, "shape " + shape_to_string(t.shape) + " has more than 2^64 elements (ValidationOverflow)");
  if (__builtin_mul_overflow(numel, uint64_t(dtype_size(t.dtype)), &nbytes))
    fail_tensor(name, dname + " " + shape_to_string(t.shape) + " needs more than 2^64 bytes (ValidationOverflow)");

  const json& offsets = entry["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2)
    fail_tensor(name, "\"data_offsets\" is not an array [begin, end] (InvalidHeaderDeserialization)");
  t.begin = read_uint(offsets[0], "data_offsets[0]");
  t.end = read_uint(offsets[1], "data_offsets[1]");
  if (t.end < t.begin)
    fail_tensor(name, "data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                          "] end before they begin (InvalidOffset)");
  if (t.end - t.begin != nbytes)
    fail_tensor(name, dname + " " + shape_to_string(t.shape) + " needs " + std::to_string(nbytes) +
                          " bytes but data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                          "] hold " + std::to_string(t.end - t.begin) + " (TensorInvalidInfo)");
  return t;
}

void SafetensorsFile::Impl::validate() {
  if (size < 8)
    fail("file is " + std::to_string(size) + " bytes, too small for a safetensors header (HeaderTooSmall)");
  uint64_t n = 0;
  std::memcpy(&n, bytes, 8);
  if (n > kMaxSafetensorsHeader)
    fail("header length " + std::to_string(n) + " exceeds the limit of " + std::to_string(kMaxSafetensorsHeader) +
         " bytes (HeaderTooLarge)");
  if (8 + n > size)
    fail("header length " + std::to_string(n) + " exceeds file size " + std::to_string(size) +
         " (InvalidHeaderLength)");
  header_len = n;
  data = bytes + 8 + n;

  const std::string_view text(reinterpret_cast<const char*>(bytes + 8), n);
  size_t bad = 0;
  if (!is_valid_utf8(text, &bad))
    fail("header is not valid UTF-8 (byte " + std::to_string(bad) + " of the header) (InvalidHeader)");
  json header;
  try {
    header = parse_json_strict(text, "header");
  } catch (const Error& e) {
    fail(std::string(e.what()) + " (InvalidHeaderDeserialization)");
  }
  if (!header.is_object())
    fail(std::string("header is ") + header.type_name() + ", not a JSON object (InvalidHeaderDeserialization)");

  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object())
        fail(std::string("__metadata__ is ") + value.type_name() + ", not an object of strings (InvalidHeaderDeserialization)");
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string())
          fail("__metadata__ value " + quote_for_message(mk) + " is " + mv.type_name() +
               ", not a string (InvalidHeaderDeserialization)");
        metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    tensors.push_back(parse_tensor_entry(key, value));
  }

  // The reference sorts by data_offsets and then requires each tensor to start where the previous ended.
  std::sort(tensors.begin(), tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    if (a.begin != b.begin) return a.begin < b.begin;
    if (a.end != b.end) return a.end < b.end;
    return a.name < b.name;
  });
  uint64_t prev_end = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorInfo& t = tensors[i];
    const std::string range = "data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) + "]";
    if (t.begin > prev_end)
      fail_tensor(t.name, range + " leave a gap of " + std::to_string(t.begin - prev_end) + " bytes after " +
                              (i ? "tensor " + quote_for_message(tensors[i - 1].name) : "the start of the data") +
                              " (InvalidOffset)");
    if (t.begin < prev_end)
      fail_tensor(t.name, range + " overlap tensor " + quote_for_message(tensors[i - 1].name) + ", which ends at " +
                              std::to_string(prev_end) + " (InvalidOffset)");
    prev_end = t.end;
  }

  const uint64_t data_size = size - 8 - n;
  if (prev_end > data_size)
    fail("file is truncated: tensors need " + std::to_string(prev_end) + " bytes of data but only " +
         std::to_string(data_size) + " follow the header (MetadataIncompleteBuffer)");
  if (prev_end < data_size)
    fail(std::to_string(data_size - prev_end) + " trailing bytes after the last tensor (MetadataIncompleteBuffer)");

  index.reserve(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) index.emplace(tensors[i].name, i);
}

// ---------------------------------------------------------------------------------------------

SafetensorsFile::SafetensorsFile(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SafetensorsFile::SafetensorsFile(SafetensorsFile&&) noexcept = default;
SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&&) noexcept = default;
SafetensorsFile::~SafetensorsFile() = default;

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    throw Error("cannot open " + path + ": " + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error("cannot open " + path + ": not a regular file");
  }
  impl->size = uint64_t(st.st_size);
  if (impl->size >= 8) {
    // Private + writable: zero-copy tensors may be modified (training) by copy-on-write; the file
    // itself is never written.
    void* p = ::mmap(nullptr, size_t(impl->size), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      throw Error("cannot map " + path + ": " + std::strerror(err));
    }
    const size_t len = size_t(impl->size);
    impl->mapping = std::shared_ptr<void>(p, [len](void* q) { ::munmap(q, len); });
    impl->bytes = static_cast<const uint8_t*>(p);
  }
  ::close(fd);  // the mapping stays valid
  impl->validate();
  return SafetensorsFile(std::move(impl));
}

SafetensorsFile SafetensorsFile::from_bytes(std::vector<uint8_t> bytes, const std::string& label) {
  auto impl = std::make_unique<Impl>();
  impl->path = label;
  impl->owned = std::move(bytes);
  impl->bytes = impl->owned.data();
  impl->size = impl->owned.size();
  impl->validate();
  return SafetensorsFile(std::move(impl));
}

const std::string& SafetensorsFile::path() const { return impl_->path; }
const std::vector<TensorInfo>& SafetensorsFile::tensors() const { return impl_->tensors; }
uint64_t SafetensorsFile::header_size() const { return impl_->header_len; }
uint64_t SafetensorsFile::file_size() const { return impl_->size; }
const std::map<std::string, std::string>& SafetensorsFile::metadata() const { return impl_->metadata; }

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  auto it = impl_->index.find(name);
  return it == impl_->index.end() ? nullptr : &impl_->tensors[it->second];
}

std::span<const uint8_t> SafetensorsFile::raw(const std::string& name) const {
  const TensorInfo& t = impl_->info(name);
  return {impl_->begin_of(t), size_t(t.end - t.begin)};
}

// ---------------------------------------------------------------------------------------------
// Converting reads. Elements are fetched with memcpy: the data may sit at any address.

namespace {

template <typename T>
T load(const uint8_t* p, int64_t i) {
  T v;
  std::memcpy(&v, p + size_t(i) * sizeof(T), sizeof(T));
  return v;
}

// double -> float, rounding to nearest; out of range gives +-inf (IEEE overflow) without relying on
// the cast, whose out-of-range behaviour C++ leaves undefined.
float narrow_f64(double d) {
  constexpr double kOverflow = 0x1.ffffffp127;  // FLT_MAX + half an ulp: ties round to inf
  if (std::isfinite(d) && std::fabs(d) >= kOverflow)
    return d > 0 ? std::numeric_limits<float>::infinity() : -std::numeric_limits<float>::infinity();
  return static_cast<float>(d);
}

}  // namespace

Tensor SafetensorsFile::read_f32(const std::string& name) const {
  const TensorInfo& t = impl_->info(name);
  const uint8_t* p = impl_->begin_of(t);
  Tensor out = Tensor::uninitialized(t.shape);
  const int64_t n = out.numel();
  float* o = out.data();
  switch (t.dtype) {
    case DType::F32:
      if (n > 0) std::memcpy(o, p, size_t(n) * 4);
      break;
    case DType::F16:
      for (int64_t i = 0; i < n; ++i) o[i] = f16_to_f32(load<uint16_t>(p, i));
      break;
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) o[i] = bf16_to_f32(load<uint16_t>(p, i));
      break;
    case DType::F64:
      for (int64_t i = 0; i < n; ++i) o[i] = narrow_f64(load<double>(p, i));
      break;
    default:
      impl_->fail_tensor(name, std::string("is ") + dtype_name(t.dtype) + "; a float read needs F32, F16, BF16 or F64");
  }
  return out;
}

Tensor SafetensorsFile::map_f32(const std::string& name) const {
  const TensorInfo& t = impl_->info(name);
  const uint8_t* p = impl_->begin_of(t);
  if (t.dtype != DType::F32 || !impl_->mapping || reinterpret_cast<uintptr_t>(p) % alignof(float) != 0)
    return read_f32(name);
  return Tensor::view(t.shape, reinterpret_cast<float*>(const_cast<uint8_t*>(p)), impl_->mapping);
}

namespace {

template <typename Out, typename In>
void convert_ints(const std::string& path, const TensorInfo& t, const uint8_t* p, Out* o, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const In v = load<In>(p, i);
    if (!std::in_range<Out>(v))
      tensor_error(path, t.name, "element " + std::to_string(i) + " = " + std::to_string(v) + " (" + dtype_name(t.dtype) +
                                ") does not fit in int" + std::to_string(8 * sizeof(Out)));
    o[i] = Out(v);
  }
}

template <typename Out>
void read_integers(const std::string& path, const TensorInfo& t, const uint8_t* p, Out* o, int64_t n) {
  switch (t.dtype) {
    case DType::BOOL:
      for (int64_t i = 0; i < n; ++i) {
        if (p[i] > 1)
          tensor_error(path, t.name, "BOOL element " + std::to_string(i) + " has byte value " + std::to_string(p[i]) +
                                    " (only 0 and 1 are valid)");
        o[i] = Out(p[i]);
      }
      break;
    case DType::U8: convert_ints<Out, uint8_t>(path, t, p, o, n); break;
    case DType::I8: convert_ints<Out, int8_t>(path, t, p, o, n); break;
    case DType::I16: convert_ints<Out, int16_t>(path, t, p, o, n); break;
    case DType::U16: convert_ints<Out, uint16_t>(path, t, p, o, n); break;
    case DType::I32: convert_ints<Out, int32_t>(path, t, p, o, n); break;
    case DType::U32: convert_ints<Out, uint32_t>(path, t, p, o, n); break;
    case DType::I64: convert_ints<Out, int64_t>(path, t, p, o, n); break;
    case DType::U64: convert_ints<Out, uint64_t>(path, t, p, o, n); break;
    default:
      tensor_error(path, t.name, std::string("is ") + dtype_name(t.dtype) + "; an integer read needs an integer or BOOL dtype");
  }
}

}  // namespace

I64Tensor SafetensorsFile::read_i64(const std::string& name) const {
  const TensorInfo& t = impl_->info(name);
  I64Tensor out = I64Tensor::uninitialized(t.shape);
  read_integers<int64_t>(impl_->path, t, impl_->begin_of(t), out.data(), out.numel());
  return out;
}

I32Tensor SafetensorsFile::read_i32(const std::string& name) const {
  const TensorInfo& t = impl_->info(name);
  I32Tensor out = I32Tensor::uninitialized(t.shape);
  read_integers<int32_t>(impl_->path, t, impl_->begin_of(t), out.data(), out.numel());
  return out;
}

}  // namespace bb::io
