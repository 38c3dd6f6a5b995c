// Reductions. The forward moves the reduced dims last, makes the data contiguous, and asks the
// backend to reduce each row; the backward broadcasts the gradient back over the reduced dims.
#include "engine/ops/reduce.hpp"

#include <algorithm>

#include "engine/ops/common.hpp"
#include "engine/ops/elementwise.hpp"
#include "engine/ops/index.hpp"
#include "engine/ops/matmul.hpp"

namespace heed {

namespace {

// Sorted, distinct, non-negative dims; all dims when `dims` is empty.
std::vector<int64_t> reduced_dims(const Tensor& x, const std::vector<int64_t>& dims,
                                  const char* op) {
  std::vector<int64_t> out;
  if (dims.empty()) {
    for (int64_t d = 0; d < x.dim(); ++d) out.push_back(d);
    return out;
  }
  for (int64_t d : dims) out.push_back(wrap_dim(d, x.dim(), op));
  std::sort(out.begin(), out.end());
  if (std::adjacent_find(out.begin(), out.end()) != out.end()) fail("{}: a dim appears twice", op);
  return out;
}

// The output shape with keepdim=true: reduced dims become 1.
Shape kept_shape(const Tensor& x, const std::vector<int64_t>& dims) {
  Shape shape = x.shape();
  for (int64_t d : dims) shape[static_cast<size_t>(d)] = 1;
  return shape;
}

Shape dropped_shape(const Tensor& x, const std::vector<int64_t>& dims) {
  Shape shape;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (!std::binary_search(dims.begin(), dims.end(), d)) shape.push_back(x.size(d));
  }
  return shape;
}

// Runs a row reduction of x over `dims`, without autograd; result has the keepdim shape.
Tensor reduce_kernel(const Tensor& x, const std::vector<int64_t>& dims, int32_t op,
                     const char* name) {
  std::vector<int64_t> order;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (!std::binary_search(dims.begin(), dims.end(), d)) order.push_back(d);
  }
  int64_t reduced = 1;
  for (int64_t d : dims) {
    order.push_back(d);
    reduced *= x.size(d);
  }
  const bool is_index = op == HEED_ARGMAX || op == HEED_ARGMIN;
  if (reduced == 0 && op != HEED_SUM) {
    fail("{}: cannot reduce over an empty dim (input shape {})", name, shape_str(x.shape()));
  }
  const Tensor rows =
      x.detach().permute(order).contiguous().reshape({-1, std::max<int64_t>(reduced, 1)});
  Tensor out = empty(kept_shape(x, dims), {is_index ? kInt64 : x.dtype(), x.device()});
  if (reduced == 0) return out.fill_(0);
  // the kernel writes one value per row of (rows, reduced): out seen flat, (rows,)
  ops::call_kernel(x, &heed_backend::reduce_rows, "reduce_rows", op, rows,
                   out.reshape({rows.size(0)}));
  return out;
}

Tensor finish(Tensor kept, const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return keepdim ? kept : kept.reshape(dropped_shape(x, dims));
}

Tensor amax_or_amin(const Tensor& x, const std::vector<int64_t>& requested, bool keepdim,
                    int32_t op, const char* name) {
  ops::check_defined(name, x, "x");
  if (x.dtype() == kBool) fail("{}: not supported for bool tensors", name);
  const std::vector<int64_t> dims = reduced_dims(x, requested, name);
  Tensor y = reduce_kernel(x, dims, op, name);
  y = record(y, name, {x}, [x = x.detach(), y = y.detach()](const Tensor& dy) {
    // y = max(x): dx = dy where x == y, shared evenly between ties
    const Tensor hit = eq(x, y).to(dy.dtype());
    return std::vector<Tensor>{dy * hit / sum_to(hit, y.shape())};
  });
  return finish(y, x, dims, keepdim);
}

std::pair<Tensor, Tensor> max_or_min_along(const Tensor& x, int64_t dim, bool keepdim,
                                           int32_t index_op, const char* name) {
  ops::check_floating(name, x);
  const int64_t d = wrap_dim(dim, x.dim(), name);
  const Tensor indices = reduce_kernel(x, {d}, index_op, name);  // keepdim shape
  const Tensor values = gather(x, d, indices);  // gather routes the gradient to the index
  if (keepdim) return {values, indices};
  return {values.squeeze(d), indices.squeeze(d)};
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& requested, bool keepdim) {
  const profiler::Scope profiled("sum");
  ops::check_defined("sum", x, "x");
  if (x.dtype() == kBool) fail("sum: not supported for bool tensors; convert with .to(kInt64)");
  const std::vector<int64_t> dims = reduced_dims(x, requested, "sum");
  Tensor y = reduce_kernel(x, dims, HEED_SUM, "sum");
  y = record(y, "sum", {x}, [x_shape = x.shape()](const Tensor& dy) {
    // y = sum(x): dx = dy repeated over the summed dims
    return std::vector<Tensor>{dy.expand(x_shape)};
  });
  return finish(y, x, dims, keepdim);
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& requested, bool keepdim) {
  const profiler::Scope profiled("mean");
  ops::check_floating("mean", x);
  const std::vector<int64_t> dims = reduced_dims(x, requested, "mean");
  int64_t count = 1;
  for (int64_t d : dims) count *= x.size(d);
  return sum(x, dims, keepdim) /
         static_cast<double>(count);  // composite: gradient from sum and div
}

Tensor amax(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  const profiler::Scope profiled("amax");
  return amax_or_amin(x, dims, keepdim, HEED_MAX, "amax");
}
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  const profiler::Scope profiled("amin");
  return amax_or_amin(x, dims, keepdim, HEED_MIN, "amin");
}

std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) {
  const profiler::Scope profiled("max");
  return max_or_min_along(x, dim, keepdim, HEED_ARGMAX, "max");
}
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim) {
  const profiler::Scope profiled("min");
  return max_or_min_along(x, dim, keepdim, HEED_ARGMIN, "min");
}

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  const profiler::Scope profiled("argmax");
  ops::check_defined("argmax", x, "x");
  const int64_t d = wrap_dim(dim, x.dim(), "argmax");
  return finish(reduce_kernel(x, {d}, HEED_ARGMAX, "argmax"), x, {d}, keepdim);
}

Tensor argmin(const Tensor& x, int64_t dim, bool keepdim) {
  const profiler::Scope profiled("argmin");
  ops::check_defined("argmin", x, "x");
  const int64_t d = wrap_dim(dim, x.dim(), "argmin");
  return finish(reduce_kernel(x, {d}, HEED_ARGMIN, "argmin"), x, {d}, keepdim);
}

// ---- Tensor methods ----

Tensor Tensor::sum() const {
  return heed::sum(*this);
}
Tensor Tensor::sum(const std::vector<int64_t>& dims, bool keepdim) const {
  return heed::sum(*this, dims, keepdim);
}
Tensor Tensor::mean() const {
  return heed::mean(*this);
}
Tensor Tensor::mean(const std::vector<int64_t>& dims, bool keepdim) const {
  return heed::mean(*this, dims, keepdim);
}
Tensor Tensor::amax(const std::vector<int64_t>& dims, bool keepdim) const {
  return heed::amax(*this, dims, keepdim);
}
Tensor Tensor::amin(const std::vector<int64_t>& dims, bool keepdim) const {
  return heed::amin(*this, dims, keepdim);
}
Tensor Tensor::max() const {
  return heed::amax(*this);
}
Tensor Tensor::min() const {
  return heed::amin(*this);
}
std::pair<Tensor, Tensor> Tensor::max(int64_t dim, bool keepdim) const {
  return heed::max(*this, dim, keepdim);
}
std::pair<Tensor, Tensor> Tensor::min(int64_t dim, bool keepdim) const {
  return heed::min(*this, dim, keepdim);
}
Tensor Tensor::argmax(int64_t dim, bool keepdim) const {
  return heed::argmax(*this, dim, keepdim);
}
Tensor Tensor::argmin(int64_t dim, bool keepdim) const {
  return heed::argmin(*this, dim, keepdim);
}

Tensor sum_to(const Tensor& grad, const Shape& shape) {
  const profiler::Scope profiled("sum_to");
  if (grad.shape() == shape) return grad;
  // The common case, a bias broadcast over the leading dims: summing the rows of the
  // (rows, numel) gradient is one product with a row of ones, with no transposing copy.
  const int64_t leading = grad.dim() - static_cast<int64_t>(shape.size());
  const bool suffix =
      leading > 0 && std::equal(shape.begin(), shape.end(), grad.shape().begin() + leading);
  if (suffix && grad.is_contiguous() && grad.is_floating_point() && !shape.empty()) {
    const Tensor rows = grad.reshape({-1, numel_of(shape)});  // (rows, numel)
    const Tensor ones_row = ones({1, rows.size(0)}, {grad.dtype(), grad.device()});
    return mm(ones_row, rows).reshape(shape);
  }
  // Leading dims that broadcasting added are summed away; dims that were 1 are summed, kept.
  std::vector<int64_t> dims;
  for (int64_t i = 0; i < grad.dim(); ++i) {
    if (i < leading || (shape[static_cast<size_t>(i - leading)] == 1 && grad.size(i) != 1)) {
      dims.push_back(i);
    }
  }
  Tensor summed = dims.empty() ? grad : grad.sum(dims, /*keepdim=*/true);
  return summed.reshape(shape);
}

bool all_finite(const Tensor& x) {
  ops::check_defined("all_finite", x, "x");
  if (x.dtype() != kFloat32 && x.dtype() != kFloat64) return true;
  NoGradGuard no_grad;
  return sum(x.detach() - x.detach()).item() == 0.0;
}

}  // namespace heed
