// Storage, tensor metadata, element access and factories. Views and math live in engine/ops/.
#include "engine/tensor.hpp"

#include <cmath>
#include <cstring>

#include "engine/autograd.hpp"
#include "engine/backend.hpp"
#include "engine/device_backends.hpp"
#include "engine/error.hpp"
#include "engine/profiler.hpp"

namespace heed {

Storage::Storage(size_t size_in_bytes, Device where)
    : bytes(size_in_bytes), device(where), backend(&backend_for(where)) {
  data = backend->allocate(bytes == 0 ? 1 : bytes);
  if (data == nullptr) {
    fail("out of memory: could not allocate {} bytes ({:.1f} MiB) on {}", bytes,
         double(bytes) / double(1 << 20), device.str());
  }
  if (profiler::enabled()) profiler::note_allocation(bytes);
}

Storage::~Storage() {
  backend->release(data);
}

void Tensor::fail_undefined() {
  fail("use of an undefined tensor (default-constructed heed::Tensor)");
}

int64_t Tensor::size(int64_t dim) const {
  return shape()[wrap_dim(dim, this->dim(), "size")];
}
int64_t Tensor::stride(int64_t dim) const {
  return strides()[wrap_dim(dim, this->dim(), "stride")];
}
Device Tensor::device() const {
  return checked().storage->device;
}
int64_t Tensor::storage_offset() const {
  return checked().offset;
}

bool Tensor::is_contiguous() const {
  const TensorImpl& t = checked();
  int64_t expected = 1;
  for (size_t i = t.shape.size(); i-- > 0;) {
    if (t.shape[i] != 1 && t.strides[i] != expected) return false;
    expected *= t.shape[i];
  }
  return true;
}

bool Tensor::shares_storage_with(const Tensor& other) const {
  return checked().storage == other.checked().storage;
}

void* Tensor::raw_data() const {
  const TensorImpl& t = checked();
  return static_cast<char*>(t.storage->data) + t.offset * element_size(t.dtype);
}

template <typename T>
T* Tensor::data_ptr() const {
  if (dtype() != dtype_of<T>()) {
    fail("data_ptr: tensor has dtype {}, asked for {}", dtype_name(dtype()),
         dtype_name(dtype_of<T>()));
  }
  if (!device().is_cpu()) fail("data_ptr: tensor is on {}, move it to cpu first", device().str());
  return static_cast<T*>(raw_data());
}
template float* Tensor::data_ptr<float>() const;
template double* Tensor::data_ptr<double>() const;
template int64_t* Tensor::data_ptr<int64_t>() const;
template bool* Tensor::data_ptr<bool>() const;

// ---- element access ----

template <typename T>
std::vector<T> Tensor::to_vector() const {
  // The copy kernel converts the dtype; then the bytes are already the host's layout of T.
  const Tensor host = to(kCPU).to(dtype_of<T>()).contiguous();
  std::vector<T> out(static_cast<size_t>(host.numel()));
  if (!out.empty()) std::memcpy(out.data(), host.raw_data(), out.size() * sizeof(T));
  return out;
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;

double Tensor::item() const {
  if (numel() != 1)
    fail("item: expected a tensor with one element, got shape {}", shape_str(shape()));
  return to_vector<double>()[0];
}

double Tensor::at(const std::vector<int64_t>& index) const {
  if (static_cast<int64_t>(index.size()) != dim()) {
    fail("at: expected {} indices for shape {}, got {}", dim(), shape_str(shape()), index.size());
  }
  Tensor element = *this;
  for (size_t i = index.size(); i-- > 0;)
    element = element.select(static_cast<int64_t>(i), index[i]);
  return element.detach().item();
}

// ---- autograd accessors ----

Tensor& Tensor::requires_grad_(bool enabled) {
  if (!is_leaf() && !enabled) {
    fail("requires_grad_: cannot turn off requires_grad of a non-leaf tensor; use detach()");
  }
  if (enabled && !is_floating_point()) {
    fail("requires_grad_: only floating point tensors can require grad, got {}",
         dtype_name(dtype()));
  }
  impl_->requires_grad = enabled;
  return *this;
}

Tensor Tensor::grad() const {
  return Tensor(checked().grad);
}
void Tensor::set_grad(const Tensor& grad) const {
  impl_->grad = grad.impl_;
}
void Tensor::set_data(const Tensor& source) const {
  const TensorImpl& from = source.checked();
  checked();
  TensorImpl& to = *impl_;
  to.storage = from.storage;
  to.offset = from.offset;
  to.shape = from.shape;
  to.strides = from.strides;
  to.dtype = from.dtype;
  to.grad.reset();
}
void Tensor::zero_grad() const {
  checked(), impl_->grad.reset();
}
bool Tensor::is_leaf() const {
  return checked().grad_fn == nullptr;
}
const std::shared_ptr<Node>& Tensor::grad_fn() const {
  return checked().grad_fn;
}

void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
  run_backward(*this, gradient, retain_graph);
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = checked().storage;
  impl->offset = impl_->offset;
  impl->shape = impl_->shape;
  impl->strides = impl_->strides;
  impl->dtype = impl_->dtype;
  return Tensor(std::move(impl));
}

// ---- factories ----

Tensor empty(const Shape& shape, TensorOptions options) {
  check_shape(shape, "empty");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(
      checked_bytes(shape, element_size(options.dtype), "empty"), options.device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = options.dtype;
  Tensor out(std::move(impl));
  if (options.requires_grad) out.requires_grad_();
  return out;
}

Tensor full(const Shape& shape, double value, TensorOptions options) {
  const bool requires_grad = options.requires_grad;
  options.requires_grad = false;
  Tensor out = empty(shape, options);
  out.fill_(value);
  if (requires_grad) out.requires_grad_();
  return out;
}

Tensor zeros(const Shape& shape, TensorOptions options) {
  return full(shape, 0.0, options);
}
Tensor ones(const Shape& shape, TensorOptions options) {
  return full(shape, 1.0, options);
}
Tensor zeros_like(const Tensor& like) {
  return zeros(like.shape(), {like.dtype(), like.device()});
}
Tensor ones_like(const Tensor& like) {
  return ones(like.shape(), {like.dtype(), like.device()});
}
Tensor full_like(const Tensor& like, double value) {
  return full(like.shape(), value, {like.dtype(), like.device()});
}
Tensor scalar_tensor(double value, TensorOptions options) {
  return full({}, value, options);
}

namespace {

// Host values into a tensor of `dtype` on `device`; errors are named after `op` (the function
// the caller called).
template <typename T>
Tensor tensor_from_values(const std::vector<T>& values, const Shape& shape, DType dtype,
                          Device device, bool requires_grad, const char* op) {
  check_shape(shape, op);
  if (numel_of(shape) != static_cast<int64_t>(values.size())) {
    fail("{}: shape {} holds {} elements, got {} values", op, shape_str(shape), numel_of(shape),
         values.size());
  }
  // Copy the values in as their own dtype, then let the copy kernel convert and place them.
  Tensor as_given = empty(shape, {dtype_of<T>(), kCPU});
  if (!values.empty()) std::memcpy(as_given.raw_data(), values.data(), values.size() * sizeof(T));
  Tensor out = as_given.to(dtype).to(device);
  if (requires_grad) out.requires_grad_();
  return out;
}

}  // namespace

template <typename T>
Tensor from_vector(const std::vector<T>& values, FromVectorOptions options) {
  return from_vector(values, {static_cast<int64_t>(values.size())}, options);
}

template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, FromVectorOptions options) {
  return tensor_from_values(values, shape, options.dtype.value_or(dtype_of<T>()), options.device,
                            options.requires_grad, "from_vector");
}

template Tensor from_vector<float>(const std::vector<float>&, FromVectorOptions);
template Tensor from_vector<double>(const std::vector<double>&, FromVectorOptions);
template Tensor from_vector<int64_t>(const std::vector<int64_t>&, FromVectorOptions);
template Tensor from_vector<float>(const std::vector<float>&, const Shape&, FromVectorOptions);
template Tensor from_vector<double>(const std::vector<double>&, const Shape&, FromVectorOptions);
template Tensor from_vector<int64_t>(const std::vector<int64_t>&, const Shape&, FromVectorOptions);

Tensor tensor(const std::vector<double>& values, const Shape& shape, TensorOptions options) {
  return tensor_from_values(values, shape, options.dtype, options.device, options.requires_grad,
                            "tensor");
}

Tensor tensor(std::initializer_list<double> values, TensorOptions options) {
  return tensor(std::vector<double>(values), {static_cast<int64_t>(values.size())}, options);
}

Tensor tensor(std::initializer_list<std::initializer_list<double>> rows, TensorOptions options) {
  std::vector<double> values;
  const int64_t columns = rows.size() == 0 ? 0 : static_cast<int64_t>(rows.begin()->size());
  for (const auto& row : rows) {
    if (static_cast<int64_t>(row.size()) != columns) {
      fail("tensor: every row must have {} values, got a row with {}", columns, row.size());
    }
    values.insert(values.end(), row.begin(), row.end());
  }
  return tensor(values, {static_cast<int64_t>(rows.size()), columns}, options);
}

Tensor int_tensor(const std::vector<int64_t>& values, const Shape& shape) {
  return tensor_from_values(values, shape, kInt64, kCPU, false, "int_tensor");
}

Tensor int_tensor(std::initializer_list<int64_t> values) {
  return int_tensor(std::vector<int64_t>(values), {static_cast<int64_t>(values.size())});
}

Tensor arange(double start, double end, double step, TensorOptions options) {
  if (step == 0 || (end - start) / step < 0) {
    fail("arange: cannot go from {} to {} in steps of {}", start, end, step);
  }
  const auto count = static_cast<int64_t>(std::ceil((end - start) / step));
  std::vector<double> values(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i)
    values[static_cast<size_t>(i)] = start + static_cast<double>(i) * step;
  return tensor_from_values(values, {count}, options.dtype, options.device, options.requires_grad,
                            "arange");
}

Tensor arange(int64_t end, TensorOptions options) {
  return arange(0.0, static_cast<double>(end), 1.0, options);
}

}  // namespace heed
