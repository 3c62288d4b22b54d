#pragma once
// Dense, contiguous, row-major host tensors with 64-byte aligned storage.
// TensorT<T> is move-only (clone() copies). Its storage is either its own allocation or memory kept
// alive by an owner (e.g. a memory-mapped checkpoint, so weights are used without a copy).
// Sub-views are plain pointers plus leading dimensions at the call site, as in BLAS.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/error.h"

namespace bb {

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& shape);
std::string shape_to_string(const Shape& shape);

namespace detail {
struct AlignedFree {
  void operator()(void* p) const noexcept;
};
void* aligned_alloc_bytes(size_t bytes);  // 64-byte aligned; throws bb::Error when out of memory
}  // namespace detail

template <typename T>
class TensorT {
 public:
  TensorT() = default;
  explicit TensorT(Shape shape) : shape_(std::move(shape)) {
    numel_ = shape_numel(shape_);
    allocate();
    if (numel_ > 0) std::memset(static_cast<void*>(data_), 0, sizeof(T) * size_t(numel_));
  }
  static TensorT uninitialized(Shape shape) {
    TensorT t;
    t.shape_ = std::move(shape);
    t.numel_ = shape_numel(t.shape_);
    t.allocate();
    return t;
  }
  // Wraps memory owned by `owner` (no copy). Writes go to that memory.
  static TensorT view(Shape shape, T* data, std::shared_ptr<void> owner) {
    TensorT t;
    t.shape_ = std::move(shape);
    t.numel_ = shape_numel(t.shape_);
    t.data_ = data;
    t.owner_ = std::move(owner);
    return t;
  }
  static TensorT from(Shape shape, const std::vector<T>& values) {
    TensorT t = uninitialized(std::move(shape));
    if (size_t(t.numel_) != values.size())
      throw Error("tensor of shape " + shape_to_string(t.shape_) + " cannot hold " +
                  std::to_string(values.size()) + " values");
    if (!values.empty()) std::memcpy(t.data(), values.data(), sizeof(T) * values.size());
    return t;
  }

  TensorT(TensorT&& o) noexcept { *this = std::move(o); }
  TensorT& operator=(TensorT&& o) noexcept {
    if (this == &o) return *this;
    shape_ = std::move(o.shape_);
    numel_ = o.numel_;
    data_ = o.data_;
    owner_ = std::move(o.owner_);
    o.numel_ = 0;
    o.data_ = nullptr;
    o.shape_.clear();
    return *this;
  }
  TensorT(const TensorT&) = delete;
  TensorT& operator=(const TensorT&) = delete;

  TensorT clone() const {
    TensorT t = uninitialized(shape_);
    if (numel_ > 0) std::memcpy(t.data(), data(), sizeof(T) * size_t(numel_));
    return t;
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  bool is_view() const { return owner_ && owner_.get() != static_cast<void*>(data_); }
  const Shape& shape() const { return shape_; }
  int rank() const { return int(shape_.size()); }
  int64_t dim(int i) const { return shape_.at(size_t(i < 0 ? i + rank() : i)); }
  int64_t numel() const { return numel_; }
  bool empty() const { return numel_ == 0; }
  size_t bytes() const { return sizeof(T) * size_t(numel_); }

  T& operator[](int64_t i) { return data_[i]; }
  const T& operator[](int64_t i) const { return data_[i]; }

  // Same storage, new shape with the same number of elements.
  TensorT reshaped(Shape shape) && {
    if (shape_numel(shape) != numel_)
      throw Error("cannot reshape " + shape_to_string(shape_) + " to " + shape_to_string(shape));
    shape_ = std::move(shape);
    return std::move(*this);
  }
  void fill(T value) {
    for (int64_t i = 0; i < numel_; ++i) data_[i] = value;
  }

 private:
  void allocate() {
    if (numel_ <= 0) return;
    data_ = static_cast<T*>(detail::aligned_alloc_bytes(sizeof(T) * size_t(numel_)));
    owner_ = std::shared_ptr<void>(static_cast<void*>(data_), detail::AlignedFree());
  }

  Shape shape_;
  int64_t numel_ = 0;
  T* data_ = nullptr;
  std::shared_ptr<void> owner_;
};

using Tensor = TensorT<float>;
using I64Tensor = TensorT<int64_t>;
using I32Tensor = TensorT<int32_t>;

}  // namespace bb
