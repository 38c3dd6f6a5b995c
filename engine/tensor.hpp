// heed::Tensor: a cheap, shareable handle to a strided view of typed storage, plus what autograd
// needs (requires_grad, the accumulated .grad(), the Node that produced it).
//
// Views (reshape of contiguous data, transpose, permute, narrow, select, expand, unsqueeze,
// squeeze, flatten) share storage; contiguous(), clone() and to() copy.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/device.hpp"
#include "engine/dtype.hpp"
#include "engine/shape.hpp"

// The kernel table a Storage returns its memory to (engine/backend.hpp). Only a pointer is held
// here, so a Tensor user never sees the kernels' C interface.
struct heed_backend;

namespace heed {

struct Node;
class Tensor;

// A block of device memory, returned to its backend when the last view of it goes away.
struct Storage {
  void* data = nullptr;
  size_t bytes = 0;
  Device device;
  const heed_backend* backend = nullptr;

  Storage(size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

struct GradReadyHooks;  // autograd.hpp

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements
  Shape shape;
  Shape strides;  // in elements
  DType dtype = kFloat32;

  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;  // accumulated by backward() on leaves
  std::shared_ptr<Node> grad_fn;     // the op that produced this tensor, null for leaves
  // Callbacks run when a backward pass has finished this leaf's .grad (see autograd.hpp's
  // add_grad_ready_hook); null while there are none.
  std::shared_ptr<GradReadyHooks> grad_ready_hooks;
};

struct TensorOptions {
  DType dtype = kFloat32;
  Device device = kCPU;
  bool requires_grad = false;
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- metadata ----
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return checked().shape; }
  const Shape& sizes() const { return shape(); }
  const Shape& strides() const { return checked().strides; }
  int64_t size(int64_t dim) const;
  int64_t stride(int64_t dim) const;
  int64_t dim() const { return static_cast<int64_t>(shape().size()); }
  int64_t numel() const { return numel_of(shape()); }
  DType dtype() const { return checked().dtype; }
  Device device() const;
  int64_t storage_offset() const;
  bool is_contiguous() const;
  bool is_floating_point() const { return is_floating(dtype()); }
  bool shares_storage_with(const Tensor& other) const;
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& shared_impl() const { return impl_; }

  // ---- raw data (CPU only): pointer to element 0 of this view ----
  template <typename T>
  T* data_ptr() const;
  void* raw_data() const;

  // ---- element access, for tests and printing ----
  double item() const;  // a one-element tensor's value
  template <typename T>
  T item() const {
    return static_cast<T>(item());
  }
  double at(const std::vector<int64_t>& index) const;
  template <typename T>
  std::vector<T> to_vector() const;  // all elements in row-major order, converted to T

  // ---- autograd ----
  bool requires_grad() const { return checked().requires_grad; }
  Tensor& requires_grad_(bool enabled = true);
  Tensor grad() const;  // undefined until a backward reaches this tensor
  void set_grad(const Tensor& grad) const;
  void zero_grad() const;  // drops the accumulated gradient (as PyTorch's set_to_none)
  bool is_leaf() const;
  const std::shared_ptr<Node>& grad_fn() const;
  void backward(const Tensor& gradient = {}, bool retain_graph = false) const;
  Tensor detach() const;  // same storage, cut from the graph
  // Points this tensor at `source`'s storage, layout and dtype (PyTorch's `t.data = source`):
  // every handle to it sees the new data, its requires_grad stays, its grad is cleared. How a
  // module moves its parameters to a device or dtype without breaking optimizers that hold them.
  void set_data(const Tensor& source) const;

  // ---- views (share storage) ----
  Tensor view(const Shape& shape) const;
  Tensor reshape(const Shape& shape) const;  // a view when possible, else a copy
  Tensor transpose(int64_t dim0, int64_t dim1) const;
  Tensor t() const;   // transpose of a 2-D tensor
  Tensor mT() const;  // transpose of the last two dims
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor slice(int64_t dim, std::optional<int64_t> start, std::optional<int64_t> end,
               int64_t step = 1) const;
  Tensor select(int64_t dim, int64_t index) const;
  Tensor expand(const Shape& shape) const;
  Tensor expand_as(const Tensor& other) const { return expand(other.shape()); }
  Tensor unsqueeze(int64_t dim) const;
  Tensor squeeze() const;
  Tensor squeeze(int64_t dim) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  std::vector<Tensor> split(int64_t split_size, int64_t dim = 0) const;
  std::vector<Tensor> chunk(int64_t chunks, int64_t dim = 0) const;

  // ---- copies ----
  Tensor contiguous() const;
  Tensor clone() const;
  Tensor to(DType dtype) const;
  Tensor to(Device device) const;

  // ---- in-place, for optimizers and initialisers: not recorded by autograd ----
  Tensor& fill_(double value);
  Tensor& zero_() { return fill_(0.0); }
  Tensor& copy_(const Tensor& src);  // src broadcast to this view's shape

  // ---- math, mirroring the free functions in engine/ops ----
  Tensor add(const Tensor& other) const;  // *this + other, broadcasting
  Tensor sum() const;
  Tensor sum(const std::vector<int64_t>& dims, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(const std::vector<int64_t>& dims, bool keepdim = false) const;
  Tensor amax(const std::vector<int64_t>& dims = {}, bool keepdim = false) const;
  Tensor amin(const std::vector<int64_t>& dims = {}, bool keepdim = false) const;
  Tensor max() const;
  Tensor min() const;
  std::pair<Tensor, Tensor> max(int64_t dim, bool keepdim = false) const;  // values, indices
  std::pair<Tensor, Tensor> min(int64_t dim, bool keepdim = false) const;
  Tensor argmax(int64_t dim, bool keepdim = false) const;
  Tensor argmin(int64_t dim, bool keepdim = false) const;
  Tensor exp() const;
  Tensor log() const;
  Tensor sqrt() const;
  Tensor abs() const;
  Tensor tanh() const;
  Tensor sigmoid() const;
  Tensor relu() const;
  Tensor neg() const;
  Tensor pow(double exponent) const;
  Tensor pow(const Tensor& exponent) const;
  Tensor clamp(std::optional<double> min, std::optional<double> max) const;
  Tensor matmul(const Tensor& other) const;
  Tensor softmax(int64_t dim) const;
  Tensor log_softmax(int64_t dim) const;
  Tensor masked_fill(const Tensor& mask, double value) const;

 private:
  // The impl, or a heed::Error for an undefined tensor. Inline: every accessor goes through it.
  const TensorImpl& checked() const {
    if (!impl_) fail_undefined();
    return *impl_;
  }
  [[noreturn]] static void fail_undefined();
  std::shared_ptr<TensorImpl> impl_;
};

// ---- factories ----
Tensor empty(const Shape& shape, TensorOptions options = {});
Tensor zeros(const Shape& shape, TensorOptions options = {});
Tensor ones(const Shape& shape, TensorOptions options = {});
Tensor full(const Shape& shape, double value, TensorOptions options = {});
Tensor zeros_like(const Tensor& like);
Tensor ones_like(const Tensor& like);
Tensor full_like(const Tensor& like, double value);
Tensor scalar_tensor(double value, TensorOptions options = {});  // 0-d
// [start, end) in steps of step; int64 unless options say otherwise.
Tensor arange(double start, double end, double step = 1, TensorOptions options = {kInt64});
Tensor arange(int64_t end, TensorOptions options = {kInt64});

// How from_vector places its values: as T's own dtype (float: float32, double: float64,
// int64_t: int64) unless dtype names another, which they are converted to.
struct FromVectorOptions {
  std::optional<DType> dtype = std::nullopt;
  Device device = kCPU;
  bool requires_grad = false;
};

// From host values, 1-D (values.size()) or of a shape whose numel is values.size():
//   from_vector(std::vector<double>{1, 2, 3})             float64, shape (3)
//   from_vector(values, {2, 3}, {.dtype = kFloat32})      converted to float32
template <typename T>
Tensor from_vector(const std::vector<T>& values, FromVectorOptions options = {});
template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape,
                   FromVectorOptions options = {});
Tensor tensor(const std::vector<double>& values, const Shape& shape, TensorOptions options = {});
Tensor tensor(std::initializer_list<double> values, TensorOptions options = {});
Tensor tensor(std::initializer_list<std::initializer_list<double>> rows,
              TensorOptions options = {});
Tensor int_tensor(const std::vector<int64_t>& values, const Shape& shape);
Tensor int_tensor(std::initializer_list<int64_t> values);

// Free-function views, as in PyTorch.
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
Tensor reshape(const Tensor& x, const Shape& shape);

std::string to_string(const Tensor& x);  // PyTorch-like layout

}  // namespace heed
