#include "engine/io/torch_checkpoint.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "engine/core/error.h"
#include "engine/io/byte_cursor.h"
#include "engine/io/dtype_convert.h"
#include "engine/io/json_strict.h"
#include "engine/io/pickle_vm.h"
#include "engine/io/zip_reader.h"

namespace bb::io {

using pickle::Kind;
using pickle::Object;
using pickle::Ref;

struct TorchStorage {
  std::string key;
  DType dtype = DType::U8;  // U8 for torch 2.x UntypedStorage (bytes)
  uint64_t bytes = 0;
  const ZipEntry* entry = nullptr;  // zip: data/<key>
  uint64_t file_offset = 0;         // legacy: where the elements start
  bool located = false;             // legacy: set once the storage section was walked
  bool big_endian = false;
  mutable bool verified = false;    // zip: CRC checked
  mutable std::vector<uint8_t> inflated;  // zip: a deflated entry, inflated once
};

struct TorchCheckpoint::Impl {
  std::unique_ptr<ZipArchive> zip;
  std::string prefix;  // zip: "<archive>/"
  bool big_endian = false;
  bool legacy = false;
  std::map<std::string, std::shared_ptr<TorchStorage>> storages;
};

namespace {

constexpr int kStorageTag = 1, kTensorTag = 2;
// The legacy format's magic number 0x1950a86a20f9469cfc6c and protocol version.
const __int128 kLegacyMagic = ((__int128)0x1950 << 64) | (__int128)0xa86a20f9469cfc6cULL;
constexpr int kLegacyProtocol = 1001;

struct StorageType {
  const char* name;
  DType dtype;
};
constexpr StorageType kStorageTypes[] = {
    {"FloatStorage", DType::F32}, {"DoubleStorage", DType::F64}, {"HalfStorage", DType::F16},
    {"BFloat16Storage", DType::BF16}, {"LongStorage", DType::I64}, {"IntStorage", DType::I32},
    {"ShortStorage", DType::I16}, {"CharStorage", DType::I8}, {"ByteStorage", DType::U8},
    {"BoolStorage", DType::BOOL}, {"UntypedStorage", DType::U8},
};
// Known to torch but not loadable here: refused with a clear reason at the persistent id.
constexpr const char* kUnsupportedStorages[] = {"ComplexFloatStorage", "ComplexDoubleStorage", "QInt8Storage",
                                                "QUInt8Storage", "QInt32Storage", "QUInt4x2Storage", "QUInt2x4Storage"};

struct TorchDType {
  const char* name;
  DType dtype;
};
constexpr TorchDType kTorchDTypes[] = {
    {"float32", DType::F32}, {"float", DType::F32},   {"float64", DType::F64}, {"double", DType::F64},
    {"float16", DType::F16}, {"half", DType::F16},    {"bfloat16", DType::BF16}, {"int64", DType::I64},
    {"long", DType::I64},    {"int32", DType::I32},   {"int", DType::I32},     {"int16", DType::I16},
    {"short", DType::I16},   {"int8", DType::I8},     {"uint8", DType::U8},    {"bool", DType::BOOL},
    {"uint16", DType::U16},  {"uint32", DType::U32},  {"uint64", DType::U64},
};

const char* kAllowedSummary =
    "a state_dict may use only collections.OrderedDict, torch._utils._rebuild_tensor_v2/_v3, "
    "torch._utils._rebuild_parameter and torch storage types and dtypes";

bool is_storage_type(const std::string& name, DType* dtype) {
  for (const auto& s : kStorageTypes)
    if (name == s.name) {
      if (dtype) *dtype = s.dtype;
      return true;
    }
  return false;
}
bool is_unsupported_storage(const std::string& name) {
  for (const char* s : kUnsupportedStorages)
    if (name == s) return true;
  return false;
}
bool is_torch_dtype(const std::string& name, DType* dtype) {
  for (const auto& d : kTorchDTypes)
    if (name == d.name) {
      if (dtype) *dtype = d.dtype;
      return true;
    }
  return false;
}

bool allow_global(const std::string& module, const std::string& name) {
  if (module == "torch._utils")
    return name == "_rebuild_tensor_v2" || name == "_rebuild_tensor_v3" || name == "_rebuild_parameter" ||
           name == "_rebuild_parameter_with_state";
  if (module == "torch" || module == "torch.storage")
    return is_storage_type(name, nullptr) || is_unsupported_storage(name) || (module == "torch" && is_torch_dtype(name, nullptr));
  return false;
}

int64_t as_i64(const Ref& o, const std::string& what) {
  if (!o->fits_i64()) throw Error(what + " is " + pickle::describe(*o) + ", not a 64-bit integer");
  return int64_t(o->integer);
}

std::vector<int64_t> int_tuple(const Ref& o, const std::string& what) {
  if (o->kind != Kind::Tuple) throw Error(what + " is " + pickle::describe(*o) + ", not a tuple");
  std::vector<int64_t> v;
  for (const Ref& i : o->items) v.push_back(as_i64(i, what + " element"));
  return v;
}

std::string join(const std::vector<int64_t>& v) { return shape_to_string(v); }

}  // namespace

// ---------------------------------------------------------------------------------------------

TorchCheckpoint::TorchCheckpoint(std::shared_ptr<MappedFile> file) : file_(std::move(file)), impl_(std::make_unique<Impl>()) {}
TorchCheckpoint::~TorchCheckpoint() = default;

std::unique_ptr<TorchCheckpoint> TorchCheckpoint::open(const std::string& path) {
  std::unique_ptr<TorchCheckpoint> c(new TorchCheckpoint(MappedFile::open(path)));
  c->load();
  return c;
}

std::unique_ptr<TorchCheckpoint> TorchCheckpoint::from_bytes(std::vector<uint8_t> bytes, const std::string& label) {
  std::unique_ptr<TorchCheckpoint> c(new TorchCheckpoint(MappedFile::from_bytes(std::move(bytes), label)));
  c->load();
  return c;
}

void TorchCheckpoint::load() {
  const std::string& path = file_->path();
  Impl& im = *impl_;
  const std::span<const uint8_t> all = file_->bytes();

  auto fail = [&](const std::string& m) -> void { throw Error(path + ": " + m); };

  // --- persistent ids and rebuild calls, shared by both containers -----------------------------
  pickle::Hooks hooks;
  hooks.allowed_summary = kAllowedSummary;
  hooks.allow_global = allow_global;
  hooks.persistent_load = [&](const Ref& pid) -> Ref {
    const size_t want = im.legacy ? 6 : 5;
    if (pid->kind != Kind::Tuple || pid->items.empty() || pid->items[0]->kind != Kind::String ||
        pid->items[0]->text != "storage")
      throw Error(path + ": persistent id " + pickle::describe(*pid) + " is not a ('storage', ...) tuple");
    if (pid->items.size() != want)
      throw Error(path + ": storage persistent id has " + std::to_string(pid->items.size()) + " fields, expected " +
                  std::to_string(want));
    const Ref& type = pid->items[1];
    const Ref& key = pid->items[2];
    if (type->kind != Kind::Global) throw Error(path + ": storage type is " + pickle::describe(*type));
    if (key->kind != Kind::String) throw Error(path + ": storage key is " + pickle::describe(*key));
    if (pid->items[3]->kind != Kind::String) throw Error(path + ": storage location is " + pickle::describe(*pid->items[3]));
    const std::string where = path + ": storage " + quote_for_message(key->text);
    DType dtype;
    if (!is_storage_type(type->text, &dtype))
      throw Error(where + ": " + type->text + " (complex or quantized tensors) is not supported");
    const int64_t numel = as_i64(pid->items[4], where + ": element count");
    if (numel < 0) throw Error(where + ": negative element count " + std::to_string(numel));
    if (im.legacy && pid->items[5]->kind != Kind::None)
      throw Error(where + ": storage views (pre-1.0 torch) are not supported");
    uint64_t bytes = 0;
    if (__builtin_mul_overflow(uint64_t(numel), uint64_t(dtype_size(dtype)), &bytes) || bytes > file_->size())
      throw Error(where + ": " + std::to_string(numel) + " elements of " + type->text + " exceed the file size " +
                  std::to_string(file_->size()));
    auto& slot = im.storages[key->text];
    if (slot) {
      if (slot->dtype != dtype || slot->bytes != bytes)
        throw Error(where + " is referenced with two different types or sizes");
    } else {
      slot = std::make_shared<TorchStorage>();
      slot->key = key->text;
      slot->dtype = dtype;
      slot->bytes = bytes;
      slot->big_endian = im.big_endian;
      if (!im.legacy) {
        const std::string entry = im.prefix + "data/" + key->text;
        slot->entry = im.zip->find(entry);
        if (!slot->entry) throw Error(where + ": archive entry " + quote_for_message(entry) + " is missing");
        if (slot->entry->size != bytes)
          throw Error(where + ": archive entry holds " + std::to_string(slot->entry->size) + " bytes, but " +
                      std::to_string(numel) + " elements of " + type->text + " need " + std::to_string(bytes));
        slot->located = true;
      }
    }
    return pickle::make_host(slot, kStorageTag);
  };
  hooks.reduce = [&](const Object& fn, const Object& args) -> Ref {
    if (fn.module != "torch._utils") return nullptr;
    const std::vector<Ref>& a = args.items;
    const std::string what = path + ": " + fn.text + "()";
    if (fn.text == "_rebuild_parameter" || fn.text == "_rebuild_parameter_with_state") {
      const size_t n = fn.text == "_rebuild_parameter" ? 3 : 4;
      if (a.size() != n || a[0]->kind != Kind::Host || a[0]->host_tag != kTensorTag)
        throw Error(what + " expects (tensor, requires_grad, hooks" + (n == 4 ? ", state)" : ")"));
      return a[0];
    }
    const bool v3 = fn.text == "_rebuild_tensor_v3";
    const size_t base = v3 ? 7 : 6;
    if (a.size() != base && a.size() != base + 1)
      throw Error(what + " takes " + std::to_string(base) + " or " + std::to_string(base + 1) + " arguments, got " +
                  std::to_string(a.size()));
    if (a[0]->kind != Kind::Host || a[0]->host_tag != kStorageTag) throw Error(what + ": first argument is not a storage");
    auto t = std::make_shared<TorchTensor>();
    t->storage = std::static_pointer_cast<TorchStorage>(a[0]->host);
    t->offset = as_i64(a[1], what + ": storage offset");
    const std::vector<int64_t> size = int_tuple(a[2], what + ": size");
    t->shape = Shape(size.begin(), size.end());
    t->stride = int_tuple(a[3], what + ": stride");
    if (a[4]->kind != Kind::Bool && !a[4]->is_int()) throw Error(what + ": requires_grad is " + pickle::describe(*a[4]));
    if (a[5]->kind != Kind::Dict) throw Error(what + ": backward_hooks is " + pickle::describe(*a[5]));
    t->dtype = t->storage->dtype;
    if (v3) {
      if (a[6]->kind != Kind::Global || !is_torch_dtype(a[6]->text, &t->dtype))
        throw Error(what + ": dtype " + pickle::describe(*a[6]) + " is not supported");
      if (t->storage->dtype != DType::U8 && t->storage->dtype != t->dtype)
        throw Error(what + ": dtype does not match its typed storage");
    }
    return pickle::make_host(t, kTensorTag);
  };

  // --- container ------------------------------------------------------------------------------
  Ref root;
  if (all.size() >= 4 && std::memcmp(all.data(), "PK\x03\x04", 4) == 0) {
    zip_ = true;
    im.zip = std::make_unique<ZipArchive>(file_);
    if (im.zip->entries().empty()) fail("zip archive has no entries");
    const std::string& first = im.zip->entries().front().name;
    const size_t slash = first.find('/');
    if (slash == std::string::npos || slash == 0) fail("not a torch.save archive: first entry " + quote_for_message(first) + " has no <archive>/ prefix");
    im.prefix = first.substr(0, slash + 1);
    if (im.zip->find(im.prefix + "constants.pkl"))
      fail("this is a TorchScript archive (torch.jit.save), which can run code; save a state_dict with torch.save(model.state_dict(), path)");
    for (const ZipEntry& e : im.zip->entries())
      if (e.name.rfind(im.prefix + "code/", 0) == 0)
        fail("this is a TorchScript archive (torch.jit.save), which can run code; save a state_dict with torch.save(model.state_dict(), path)");
    const ZipEntry* pkl = im.zip->find(im.prefix + "data.pkl");
    if (!pkl) fail("not a torch.save archive: no " + quote_for_message(im.prefix + "data.pkl"));
    if (const ZipEntry* bo = im.zip->find(im.prefix + "byteorder")) {
      const std::vector<uint8_t> b = im.zip->read_copy(*bo);
      const std::string order(b.begin(), b.end());
      if (order == "big") im.big_endian = true;
      else if (order != "little") fail("byteorder entry says " + quote_for_message(order) + " (expected little or big)");
    }
    std::vector<uint8_t> scratch;
    const std::span<const uint8_t> pkl_bytes = im.zip->read(*pkl, scratch);
    const pickle::Result r = pickle::unpickle(pkl_bytes, 0, path + ": " + pkl->name, hooks);
    if (r.end != pkl_bytes.size()) fail(pkl->name + " has " + std::to_string(pkl_bytes.size() - r.end) + " bytes after its STOP opcode");
    root = r.value;
  } else {
    im.legacy = true;
    pickle::Hooks plain;  // the header pickles hold only numbers, strings and dicts
    const std::string label = path + ": legacy header";
    pickle::Result magic = pickle::unpickle(all, 0, label, plain);
    if (!magic.value->is_int() || magic.value->integer != kLegacyMagic)
      fail("not a PyTorch file: the first pickle is not torch's magic number");
    pickle::Result proto = pickle::unpickle(all, magic.end, label, plain);
    if (!proto.value->is_int() || proto.value->integer != kLegacyProtocol)
      fail("legacy protocol version is " + pickle::describe(*proto.value) + ", expected 1001");
    pickle::Result sys_info = pickle::unpickle(all, proto.end, label, plain);
    if (sys_info.value->kind != Kind::Dict) fail("legacy sys_info is " + pickle::describe(*sys_info.value) + ", not a dict");
    if (const Ref* le = sys_info.value->get("little_endian"))
      if ((*le)->kind != Kind::Bool || !(*le)->boolean)
        fail("file was written on a big-endian machine, which is not supported");
    pickle::Result obj = pickle::unpickle(all, sys_info.end, path + ": state_dict pickle", hooks);
    root = obj.value;
    pickle::Result keys = pickle::unpickle(all, obj.end, path + ": storage key list", plain);
    if (keys.value->kind != Kind::List) fail("storage key list is " + pickle::describe(*keys.value) + ", not a list");

    ByteCursor c(all, path);
    c.seek(keys.end, "storage data");
    std::set<std::string> seen;
    for (const Ref& k : keys.value->items) {
      if (k->kind != Kind::String) fail("storage key list holds " + pickle::describe(*k));
      const std::string where = "storage " + quote_for_message(k->text);
      auto it = im.storages.find(k->text);
      if (it == im.storages.end()) fail(where + " is listed but no tensor uses it (its element type is unknown)");
      if (!seen.insert(k->text).second) fail(where + " is listed twice");
      TorchStorage& s = *it->second;
      const int64_t numel = c.i64("storage element count");
      const uint64_t itemsize = dtype_size(s.dtype);
      if (numel < 0 || uint64_t(numel) != s.bytes / itemsize)
        fail(where + " holds " + std::to_string(numel) + " elements, but the state_dict says " + std::to_string(s.bytes / itemsize));
      s.file_offset = c.pos();
      c.skip(size_t(s.bytes), "storage data");
      s.located = true;
    }
    for (const auto& [key, s] : im.storages)
      if (!s->located) fail("storage " + quote_for_message(key) + " is used by a tensor but missing from the storage list");
    if (!c.at_end()) fail(std::to_string(c.remaining()) + " trailing bytes after the last storage");
  }

  // --- name the tensors -------------------------------------------------------------------------
  std::set<std::string> names;
  std::function<void(const Ref&, const std::string&)> flatten = [&](const Ref& o, const std::string& name) {
    if (o->kind == Kind::Host && o->host_tag == kTensorTag) {
      TorchTensor t = *std::static_pointer_cast<TorchTensor>(o->host);
      t.name = name;
      if (!names.insert(name).second) fail("tensor name " + quote_for_message(name) + " appears twice");
      tensors_.push_back(std::move(t));
      return;
    }
    auto child = [&](const std::string& key) { return name.empty() ? key : name + "." + key; };
    if (o->kind == Kind::Dict) {
      for (const auto& [k, v] : o->entries) {
        if (k->kind == Kind::String) flatten(v, child(k->text));
        else if (k->fits_i64()) flatten(v, child(std::to_string(int64_t(k->integer))));
        else others_.push_back(child(std::string("<").append(pickle::kind_name(k->kind)).append(" key>")));
      }
      return;
    }
    if (o->kind == Kind::List || o->kind == Kind::Tuple) {
      for (size_t i = 0; i < o->items.size(); ++i) flatten(o->items[i], child(std::to_string(i)));
      return;
    }
    others_.push_back((name.empty() ? "(root)" : name) + " (" + pickle::describe(*o) + ")");
  };
  flatten(root, "");

  // --- every view must stay inside its storage ------------------------------------------------
  for (const TorchTensor& t : tensors_) {
    const std::string where = path + ": tensor " + quote_for_message(t.name);
    if (t.shape.size() != t.stride.size())
      throw Error(where + ": size " + join(t.shape) + " and stride " + join(t.stride) + " differ in rank");
    if (t.offset < 0) throw Error(where + ": negative storage offset " + std::to_string(t.offset));
    const uint64_t itemsize = dtype_size(t.dtype);
    const uint64_t capacity = t.storage->bytes / itemsize;  // storage elements of this dtype
    uint64_t numel = 1, last = uint64_t(t.offset);
    for (size_t d = 0; d < t.shape.size(); ++d) {
      if (t.shape[d] < 0 || t.stride[d] < 0)
        throw Error(where + ": negative size or stride (" + join(t.shape) + " / " + join(t.stride) + ")");
      uint64_t reach = 0;
      if (__builtin_mul_overflow(numel, uint64_t(t.shape[d]), &numel) || numel > (uint64_t(1) << 62))
        throw Error(where + ": shape " + join(t.shape) + " has too many elements");
      if (t.shape[d] > 0 && (__builtin_mul_overflow(uint64_t(t.shape[d] - 1), uint64_t(t.stride[d]), &reach) ||
                             __builtin_add_overflow(last, reach, &last)))
        throw Error(where + ": strides " + join(t.stride) + " overflow");
    }
    if (numel > 0 ? last >= capacity : uint64_t(t.offset) > capacity)
      throw Error(where + ": shape " + join(t.shape) + ", stride " + join(t.stride) + " and offset " +
                  std::to_string(t.offset) + " reach element " + std::to_string(last) + " of storage " +
                  quote_for_message(t.storage->key) + ", which holds " + std::to_string(capacity));
    summary_.push_back({t.name, t.dtype, t.shape, path});
  }
  build_index();
}

// ---------------------------------------------------------------------------------------------

const TorchTensor& TorchCheckpoint::torch_tensor(const std::string& name) const {
  at(name);
  return tensors_[index_.at(name)];
}

std::span<const uint8_t> TorchCheckpoint::storage_bytes(const TorchStorage& s) const {
  if (impl_->legacy) return file_->bytes().subspan(size_t(s.file_offset), size_t(s.bytes));
  if (!s.verified) {
    std::vector<uint8_t> scratch;
    std::span<const uint8_t> b = impl_->zip->read(*s.entry, scratch);  // CRC-checked
    if (!scratch.empty() && b.data() == scratch.data()) s.inflated = std::move(scratch);
    s.verified = true;
  }
  if (s.entry->method != 0) return s.inflated;
  return file_->bytes().subspan(size_t(s.entry->data_offset), size_t(s.bytes));
}

namespace {

bool is_contiguous(const TorchTensor& t) {
  int64_t expect = 1;
  for (size_t d = t.shape.size(); d-- > 0;) {
    if (t.shape[d] != 1 && t.stride[d] != expect) return false;
    expect *= t.shape[d];
  }
  return true;
}

}  // namespace

std::vector<uint8_t> TorchCheckpoint::read_bytes(const std::string& name) const {
  const TorchTensor& t = torch_tensor(name);
  const size_t itemsize = dtype_size(t.dtype);
  const uint64_t numel = uint64_t(shape_numel(t.shape));
  const uint64_t nbytes = numel * itemsize;  // bounded by 2^62 * 8 checks at open
  if (nbytes > t.storage->bytes + kMaxExpansionBytes)
    throw Error(path() + ": tensor " + quote_for_message(name) + ": " + shape_to_string(t.shape) + " with stride " +
                shape_to_string(t.stride) + " expands " + std::to_string(t.storage->bytes) + " stored bytes to " +
                std::to_string(nbytes) + "; refusing to allocate more than the file holds");
  const std::span<const uint8_t> src = storage_bytes(*t.storage);
  std::vector<uint8_t> out(static_cast<size_t>(nbytes));
  if (numel > 0) {
    if (is_contiguous(t)) {
      std::memcpy(out.data(), src.data() + size_t(t.offset) * itemsize, size_t(nbytes));
    } else {
      const size_t rank = t.shape.size();
      std::vector<int64_t> idx(rank, 0);
      for (uint64_t i = 0; i < numel; ++i) {
        int64_t e = t.offset;
        for (size_t d = 0; d < rank; ++d) e += idx[d] * t.stride[d];
        std::memcpy(out.data() + i * itemsize, src.data() + size_t(e) * itemsize, itemsize);
        for (size_t d = rank; d-- > 0;) {
          if (++idx[d] < t.shape[d]) break;
          idx[d] = 0;
        }
      }
    }
  }
  if (t.storage->big_endian) byteswap_elements(out.data(), size_t(numel), itemsize);
  return out;
}

Tensor TorchCheckpoint::read_f32(const std::string& name) const {
  const TorchTensor& t = torch_tensor(name);
  if (t.dtype == DType::F32 && !t.storage->big_endian && is_contiguous(t) && (impl_->legacy || t.storage->entry->method == 0)) {
    const std::span<const uint8_t> src = storage_bytes(*t.storage);
    const uint8_t* p = src.data() + size_t(t.offset) * 4;
    if (file_->is_mapped() && reinterpret_cast<uintptr_t>(p) % alignof(float) == 0 && shape_numel(t.shape) > 0)
      return Tensor::view(t.shape, reinterpret_cast<float*>(const_cast<uint8_t*>(p)), std::shared_ptr<void>(file_));
  }
  const std::vector<uint8_t> bytes = read_bytes(name);
  Tensor out = Tensor::uninitialized(t.shape);
  convert_to_f32(t.dtype, bytes.data(), out.numel(), out.data(), path() + ": tensor " + quote_for_message(name));
  return out;
}

}  // namespace bb::io
