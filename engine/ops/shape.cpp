// Views and copies. A view is a new TensorImpl over the same storage with other shape, strides
// and offset; its backward maps the gradient back onto the input's shape.
#include "engine/ops/shape.hpp"

#include <algorithm>
#include <numeric>
#include <utility>

#include "engine/checked_size.hpp"
#include "engine/ops/common.hpp"
#include "engine/ops/elementwise.hpp"
#include "engine/ops/reduce.hpp"

namespace heed {

namespace {

// A tensor over x's storage with the given geometry (no copy, no autograd).
Tensor make_view(const Tensor& x, Shape shape, Shape strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = x.impl()->storage;
  impl->offset = offset;
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->dtype = x.dtype();
  return Tensor(std::move(impl));
}

// Records that `view` came from `x` by reshaping: its gradient is reshaped back.
Tensor record_reshape_like(Tensor view, const Tensor& x, const char* name) {
  return record(std::move(view), name, {x}, [shape = x.shape()](const Tensor& dy) {
    // same elements, other shape: dx = reshape(dy)
    return std::vector<Tensor>{dy.reshape(shape)};
  });
}

// Resolves one -1 in a requested shape from the element count.
Shape infer_shape(const Shape& requested, int64_t numel, const char* op, const Shape& from) {
  Shape shape = requested;
  int64_t known = 1;
  int inferred = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (inferred >= 0) fail("{}: only one dim can be -1, got {}", op, shape_str(requested));
      inferred = static_cast<int>(i);
    } else if (shape[i] < 0) {
      fail("{}: invalid size {} in shape {}", op, shape[i], shape_str(requested));
    } else if (!multiply_fits(known, shape[i], known)) {
      fail("{}: shape {} has more elements than a 64-bit count can hold", op, shape_str(requested));
    }
  }
  if (inferred >= 0) {
    if (known == 0 || numel % known != 0) {
      fail("{}: shape {} is invalid for input of shape {} ({} elements)", op, shape_str(requested),
           shape_str(from), numel);
    }
    shape[static_cast<size_t>(inferred)] = numel / known;
  } else if (known != numel) {
    fail("{}: shape {} is invalid for input of shape {} ({} elements)", op, shape_str(requested),
         shape_str(from), numel);
  }
  check_shape(shape, op);
  return shape;
}

// Copies src (broadcast to dst's shape) into the view dst.
void copy_into(const Tensor& dst, const Tensor& src) {
  ops::call_kernel(dst, &heed_backend::copy, "copy", src.expand(dst.shape()), dst);
}

}  // namespace

Tensor Tensor::view(const Shape& requested) const {
  const profiler::Scope profiled("view");
  const Shape shape = infer_shape(requested, numel(), "view", this->shape());
  if (!is_contiguous()) {
    fail(
        "view: the input of shape {} is not contiguous (strides {}); use reshape() or "
        "contiguous() first",
        shape_str(this->shape()), shape_str(strides()));
  }
  return record_reshape_like(make_view(*this, shape, contiguous_strides(shape), storage_offset()),
                             *this, "view");
}

Tensor Tensor::reshape(const Shape& requested) const {
  const profiler::Scope profiled("reshape");
  return is_contiguous() ? view(requested) : contiguous().view(requested);
}

Tensor Tensor::permute(const std::vector<int64_t>& dims) const {
  const profiler::Scope profiled("permute");
  if (static_cast<int64_t>(dims.size()) != dim()) {
    fail("permute: expected {} dims for shape {}, got {}", dim(), shape_str(shape()), dims.size());
  }
  Shape shape(dims.size()), strides(dims.size());
  std::vector<int64_t> inverse(dims.size(), -1);
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t d = wrap_dim(dims[i], dim(), "permute");
    if (inverse[static_cast<size_t>(d)] != -1) fail("permute: dim {} appears twice", d);
    inverse[static_cast<size_t>(d)] = static_cast<int64_t>(i);
    shape[i] = this->shape()[static_cast<size_t>(d)];
    strides[i] = this->strides()[static_cast<size_t>(d)];
  }
  Tensor out = make_view(*this, shape, strides, storage_offset());
  return record(out, "permute", {*this}, [inverse](const Tensor& dy) {
    // dx = permute(dy, inverse permutation)
    return std::vector<Tensor>{dy.permute(inverse)};
  });
}

Tensor Tensor::transpose(int64_t dim0, int64_t dim1) const {
  const profiler::Scope profiled("transpose");
  std::vector<int64_t> order(static_cast<size_t>(dim()));
  std::iota(order.begin(), order.end(), 0);
  if (dim() == 0) return *this;
  std::swap(order[static_cast<size_t>(wrap_dim(dim0, dim(), "transpose"))],
            order[static_cast<size_t>(wrap_dim(dim1, dim(), "transpose"))]);
  return permute(order);
}

Tensor Tensor::t() const {
  if (dim() > 2)
    fail("t: expects a tensor with at most 2 dims, got shape {}; use transpose()",
         shape_str(shape()));
  return dim() < 2 ? *this : transpose(0, 1);
}

Tensor Tensor::mT() const {
  if (dim() < 2)
    fail("mT: expects a tensor with at least 2 dims, got shape {}", shape_str(shape()));
  return transpose(-2, -1);
}

Tensor Tensor::slice(int64_t dim, std::optional<int64_t> start_at, std::optional<int64_t> end_at,
                     int64_t step) const {
  const profiler::Scope profiled("slice");
  const int64_t d = wrap_dim(dim, this->dim(), "slice");
  const int64_t size = shape()[static_cast<size_t>(d)];
  if (step < 1) fail("slice: step must be positive, got {}", step);
  // Python slicing rules: negative bounds count from the end, out-of-range bounds are clamped.
  auto clamp_bound = [size](int64_t bound) {
    if (bound < 0) bound += size;
    return std::clamp<int64_t>(bound, 0, size);
  };
  const int64_t start = clamp_bound(start_at.value_or(0));
  const int64_t end = std::max(start, clamp_bound(end_at.value_or(size)));
  Shape shape = this->shape(), strides = this->strides();
  shape[static_cast<size_t>(d)] = (end - start + step - 1) / step;
  strides[static_cast<size_t>(d)] *= step;
  const int64_t offset = storage_offset() + start * this->strides()[static_cast<size_t>(d)];
  Tensor out = make_view(*this, shape, strides, offset);
  return record(out, "slice", {*this},
                [x_shape = this->shape(), d, start, end, step](const Tensor& dy) {
                  // dx = zeros with dy written into the sliced positions
                  Tensor dx = zeros(x_shape, {dy.dtype(), dy.device()});
                  copy_into(dx.slice(d, start, end, step), dy);
                  return std::vector<Tensor>{dx};
                });
}

Tensor Tensor::narrow(int64_t dim, int64_t start, int64_t length) const {
  const profiler::Scope profiled("narrow");
  const int64_t d = wrap_dim(dim, this->dim(), "narrow");
  const int64_t size = shape()[static_cast<size_t>(d)];
  if (start < 0) start += size;
  if (start < 0 || length < 0 || start + length > size) {
    fail("narrow: start {} with length {} does not fit in dim {} of size {} (shape {})", start,
         length, d, size, shape_str(shape()));
  }
  return slice(d, start, start + length);
}

Tensor Tensor::select(int64_t dim, int64_t index) const {
  const profiler::Scope profiled("select");
  const int64_t d = wrap_dim(dim, this->dim(), "select");
  const int64_t size = shape()[static_cast<size_t>(d)];
  if (index < -size || index >= size) {
    fail("select: index {} is out of range for dim {} of size {} (shape {})", index, d, size,
         shape_str(shape()));
  }
  if (index < 0) index += size;
  return narrow(d, index, 1).squeeze(d);
}

Tensor Tensor::expand(const Shape& requested) const {
  const profiler::Scope profiled("expand");
  if (requested.size() < shape().size()) {
    fail("expand: cannot expand shape {} to {} with fewer dims", shape_str(shape()),
         shape_str(requested));
  }
  check_shape(requested, "expand");
  const size_t leading = requested.size() - shape().size();
  Shape shape = requested, strides(requested.size(), 0);
  for (size_t i = 0; i < requested.size(); ++i) {
    if (i < leading) continue;  // new leading dims repeat everything: stride 0
    const int64_t size = this->shape()[i - leading];
    if (requested[i] == -1) shape[i] = size;
    if (size == shape[i]) {
      strides[i] = this->strides()[i - leading];
    } else if (size != 1) {
      fail("expand: dim {} of size {} cannot expand to {} (shape {} to {})", i - leading, size,
           requested[i], shape_str(this->shape()), shape_str(requested));
    }
  }
  if (shape == this->shape()) return *this;
  Tensor out = make_view(*this, shape, strides, storage_offset());
  return record(out, "expand", {*this}, [x_shape = this->shape()](const Tensor& dy) {
    // dx = dy summed over the repeated dims
    return std::vector<Tensor>{sum_to(dy, x_shape)};
  });
}

Tensor Tensor::unsqueeze(int64_t dim) const {
  const profiler::Scope profiled("unsqueeze");
  const int64_t d = wrap_dim(dim, this->dim() + 1, "unsqueeze");
  Shape shape = this->shape(), strides = this->strides();
  const int64_t stride =
      d < this->dim() ? strides[static_cast<size_t>(d)] * shape[static_cast<size_t>(d)] : 1;
  shape.insert(shape.begin() + d, 1);
  strides.insert(strides.begin() + d, stride);
  check_shape(shape, "unsqueeze");
  return record_reshape_like(make_view(*this, shape, strides, storage_offset()), *this,
                             "unsqueeze");
}

Tensor Tensor::squeeze(int64_t dim) const {
  const profiler::Scope profiled("squeeze");
  const int64_t d = wrap_dim(dim, this->dim(), "squeeze");
  if (this->dim() == 0 || shape()[static_cast<size_t>(d)] != 1) return *this;
  Shape shape = this->shape(), strides = this->strides();
  shape.erase(shape.begin() + d);
  strides.erase(strides.begin() + d);
  return record_reshape_like(make_view(*this, shape, strides, storage_offset()), *this, "squeeze");
}

Tensor Tensor::squeeze() const {
  const profiler::Scope profiled("squeeze");
  Shape shape, strides;
  for (int64_t i = 0; i < dim(); ++i) {
    if (this->shape()[static_cast<size_t>(i)] == 1) continue;
    shape.push_back(this->shape()[static_cast<size_t>(i)]);
    strides.push_back(this->strides()[static_cast<size_t>(i)]);
  }
  return record_reshape_like(make_view(*this, shape, strides, storage_offset()), *this, "squeeze");
}

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
  const profiler::Scope profiled("flatten");
  if (dim() == 0) return reshape({1});
  const int64_t start = wrap_dim(start_dim, dim(), "flatten");
  const int64_t end = wrap_dim(end_dim, dim(), "flatten");
  if (start > end) fail("flatten: start_dim {} comes after end_dim {}", start, end);
  Shape shape(this->shape().begin(), this->shape().begin() + start);
  shape.push_back(-1);
  shape.insert(shape.end(), this->shape().begin() + end + 1, this->shape().end());
  if (numel() == 0) shape[static_cast<size_t>(start)] = 0;
  return reshape(shape);
}

std::vector<Tensor> Tensor::split(int64_t split_size, int64_t dim) const {
  const profiler::Scope profiled("split");
  const int64_t d = wrap_dim(dim, this->dim(), "split");
  if (split_size < 1) fail("split: split_size must be positive, got {}", split_size);
  std::vector<Tensor> parts;
  const int64_t size = shape()[static_cast<size_t>(d)];
  for (int64_t start = 0; start < size; start += split_size) {
    parts.push_back(narrow(d, start, std::min(split_size, size - start)));
  }
  return parts;
}

std::vector<Tensor> Tensor::chunk(int64_t chunks, int64_t dim) const {
  const profiler::Scope profiled("chunk");
  if (chunks < 1) fail("chunk: chunks must be positive, got {}", chunks);
  const int64_t size = shape()[static_cast<size_t>(wrap_dim(dim, this->dim(), "chunk"))];
  return split(std::max<int64_t>(1, (size + chunks - 1) / chunks), dim);
}

// ---- copies ----

Tensor Tensor::clone() const {
  const profiler::Scope profiled("clone");
  Tensor out = empty(shape(), {dtype(), device()});
  copy_into(out, detach());
  return record(out, "clone", {*this}, [](const Tensor& dy) {
    // y = x: dx = dy
    return std::vector<Tensor>{dy};
  });
}

Tensor Tensor::contiguous() const {
  const profiler::Scope profiled("contiguous");
  return is_contiguous() ? *this : clone();
}

Tensor Tensor::to(DType target) const {
  const profiler::Scope profiled("to");
  if (target == dtype()) return *this;
  Tensor out = empty(shape(), {target, device()});
  copy_into(out, detach());
  if (!is_floating(target)) return out;  // integer and bool results carry no gradient
  return record(out, "to", {*this}, [source = dtype()](const Tensor& dy) {
    // dx = dy converted back
    return std::vector<Tensor>{dy.to(source)};
  });
}

Tensor Tensor::to(Device target) const {
  const profiler::Scope profiled("to");
  if (target == device()) return *this;
  Tensor out = empty(shape(), {dtype(), target});
  const Tensor source = contiguous().detach();
  // Through host memory: a plugin only copies between the host and its own device.
  std::vector<unsigned char> host(static_cast<size_t>(numel()) * element_size(dtype()));
  check_kernel(backend_for(device()),
               backend_for(device()).copy_to_host(host.data(), source.raw_data(), host.size()),
               "copy_to_host");
  check_kernel(backend_for(target),
               backend_for(target).copy_from_host(out.raw_data(), host.data(), host.size()),
               "copy_from_host");
  return record(out, "to", {*this}, [source_device = device()](const Tensor& dy) {
    // dx = dy moved back
    return std::vector<Tensor>{dy.to(source_device)};
  });
}

Tensor& Tensor::fill_(double value) {
  const profiler::Scope profiled("fill_");
  if (requires_grad() && grad_enabled()) {
    fail("fill_: a tensor that requires grad cannot be changed in place outside NoGradGuard");
  }
  ops::call_kernel(*this, &heed_backend::fill, "fill", *this, value);
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  const profiler::Scope profiled("copy_");
  if (requires_grad() && grad_enabled()) {
    fail("copy_: a tensor that requires grad cannot be changed in place outside NoGradGuard");
  }
  if (!broadcasts_to(src.shape(), shape())) {
    fail("copy_: source of shape {} does not broadcast to the destination's shape {}",
         shape_str(src.shape()), shape_str(shape()));
  }
  copy_into(*this, src.device() == device() ? src.detach() : src.detach().to(device()));
  return *this;
}

// ---- joining ----

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  const profiler::Scope profiled("cat");
  if (tensors.empty()) fail("cat: expected at least one tensor");
  const Tensor& first = tensors[0];
  const int64_t d = wrap_dim(dim, first.dim(), "cat");
  Shape shape = first.shape();
  shape[static_cast<size_t>(d)] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    ops::check_same_dtype_and_device("cat", first, t);
    bool compatible = t.dim() == first.dim();
    for (int64_t k = 0; compatible && k < t.dim(); ++k) {
      compatible = k == d || t.size(k) == first.size(k);
    }
    if (!compatible) {
      fail("cat: tensor {} has shape {}, expected {} in every dim but {}", i, shape_str(t.shape()),
           shape_str(first.shape()), d);
    }
    shape[static_cast<size_t>(d)] += t.size(d);
  }
  Tensor out = empty(shape, {first.dtype(), first.device()});
  std::vector<int64_t> sizes;
  int64_t offset = 0;
  for (const Tensor& t : tensors) {
    copy_into(out.detach().narrow(d, offset, t.size(d)), t.detach());
    sizes.push_back(t.size(d));
    offset += t.size(d);
  }
  return record(out, "cat", tensors, [d, sizes](const Tensor& dy) {
    // each input's gradient is its slice of dy
    std::vector<Tensor> grads;
    int64_t start = 0;
    for (int64_t size : sizes) {
      grads.push_back(dy.narrow(d, start, size));
      start += size;
    }
    return grads;
  });
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  const profiler::Scope profiled("stack");
  if (tensors.empty()) fail("stack: expected at least one tensor");
  const int64_t d = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> expanded;
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].shape() != tensors[0].shape()) {
      fail("stack: every tensor must have shape {}, tensor {} has {}",
           shape_str(tensors[0].shape()), i, shape_str(tensors[i].shape()));
    }
    expanded.push_back(tensors[i].unsqueeze(d));
  }
  return cat(expanded, d);
}

std::vector<Tensor> unbind(const Tensor& x, int64_t dim) {
  const profiler::Scope profiled("unbind");
  ops::check_defined("unbind", x, "x");
  const int64_t d = wrap_dim(dim, x.dim(), "unbind");
  std::vector<Tensor> pieces;
  if (!any_requires_grad({x})) {
    for (int64_t i = 0; i < x.size(d); ++i) pieces.push_back(x.select(d, i));
    return pieces;
  }
  // The backward, without a quadratic cost. Autograd adds up the gradients a node receives: if
  // each of T pieces returned a gradient of x's full shape holding only its own slice, one
  // backward pass would add T full-size tensors. So the pieces share one gradient buffer:
  //   - piece i's backward copies its dy into slice i of the buffer;
  //   - the node `joined`, between x and the pieces, returns the buffer as x's gradient.
  // Autograd runs a node only after every node that uses it, so `joined` runs after all the
  // pieces and finds the buffer complete. It runs only if some gradient reaches it, so the
  // first piece to run sends it the buffer; the others send nothing.
  // One pass's shared buffer, and which backward pass made it: a piece that finds a buffer from
  // an earlier pass (one that failed before `joined` took it) starts a fresh one.
  struct SharedGradient {
    Tensor buffer;  // x's shape
    uint64_t pass = 0;
  };
  auto gradient_of_x = std::make_shared<SharedGradient>();
  const Tensor joined = record(x.detach(), "unbind", {x}, [gradient_of_x](const Tensor&) {
    // dx = the buffer the pieces filled, slice by slice
    return std::vector<Tensor>{std::exchange(gradient_of_x->buffer, Tensor())};
  });
  for (int64_t i = 0; i < x.size(d); ++i) {
    const Tensor piece = joined.detach().select(d, i);
    pieces.push_back(record(piece, "unbind", {joined},
                            [gradient_of_x, d, i, shape = x.shape()](const Tensor& dy) {
                              // piece_i = x.select(d, i): dx.select(d, i) = dy
                              SharedGradient& shared = *gradient_of_x;
                              const bool first_to_run =
                                  !shared.buffer.defined() || shared.pass != backward_pass_number();
                              if (first_to_run) {
                                shared.buffer = zeros(shape, {dy.dtype(), dy.device()});
                                shared.pass = backward_pass_number();
                              }
                              shared.buffer.select(d, i).copy_(dy);
                              return std::vector<Tensor>{first_to_run ? shared.buffer : Tensor()};
                            }));
  }
  return pieces;
}

Tensor movedim(const Tensor& x, int64_t source, int64_t destination) {
  const profiler::Scope profiled("movedim");
  const int64_t from = wrap_dim(source, x.dim(), "movedim");
  const int64_t to = wrap_dim(destination, x.dim(), "movedim");
  std::vector<int64_t> order;
  for (int64_t i = 0; i < x.dim(); ++i) {
    if (i != from) order.push_back(i);
  }
  order.insert(order.begin() + to, from);
  return x.permute(order);
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  return x.transpose(dim0, dim1);
}
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  return x.permute(dims);
}
Tensor reshape(const Tensor& x, const Shape& shape) {
  return x.reshape(shape);
}

}  // namespace heed
