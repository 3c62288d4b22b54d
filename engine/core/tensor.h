#pragma once
// Dense, contiguous, row-major host tensors with 64-byte aligned storage.
// TensorT<T> owns its buffer (move-only; clone() copies). Views are plain pointers plus
// leading dimensions at the call site, as in BLAS.
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
    if (numel_ > 0)
      data_.reset(static_cast<T*>(detail::aligned_alloc_bytes(sizeof(T) * size_t(numel_))));
    if (numel_ > 0) std::memset(static_cast<void*>(data_.get()), 0, sizeof(T) * size_t(numel_));
  }
  static TensorT uninitialized(Shape shape) {
    TensorT t;
    t.shape_ = std::move(shape);
    t.numel_ = shape_numel(t.shape_);
    if (t.numel_ > 0)
      t.data_.reset(static_cast<T*>(detail::aligned_alloc_bytes(sizeof(T) * size_t(t.numel_))));
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

  TensorT(TensorT&&) noexcept = default;
  TensorT& operator=(TensorT&&) noexcept = default;
  TensorT(const TensorT&) = delete;
  TensorT& operator=(const TensorT&) = delete;

  TensorT clone() const {
    TensorT t = uninitialized(shape_);
    if (numel_ > 0) std::memcpy(t.data(), data(), sizeof(T) * size_t(numel_));
    return t;
  }

  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  const Shape& shape() const { return shape_; }
  int rank() const { return int(shape_.size()); }
  int64_t dim(int i) const { return shape_.at(size_t(i < 0 ? i + rank() : i)); }
  int64_t numel() const { return numel_; }
  bool empty() const { return numel_ == 0; }
  size_t bytes() const { return sizeof(T) * size_t(numel_); }

  T& operator[](int64_t i) { return data_.get()[i]; }
  const T& operator[](int64_t i) const { return data_.get()[i]; }

  // Same storage, new shape with the same number of elements.
  TensorT reshaped(Shape shape) && {
    if (shape_numel(shape) != numel_)
      throw Error("cannot reshape " + shape_to_string(shape_) + " to " + shape_to_string(shape));
    shape_ = std::move(shape);
    return std::move(*this);
  }
  void fill(T value) {
    for (int64_t i = 0; i < numel_; ++i) data_.get()[i] = value;
  }

 private:
  Shape shape_;
  int64_t numel_ = 0;
  std::unique_ptr<T, detail::AlignedFree> data_;
};

using Tensor = TensorT<float>;
using I64Tensor = TensorT<int64_t>;
using I32Tensor = TensorT<int32_t>;

}  // namespace bb
