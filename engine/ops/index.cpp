// Index ops. The backend sees contiguous (outer, n, inner) views around the indexed dim.
#include "engine/ops/index.hpp"

#include <algorithm>

#include "engine/ops/common.hpp"
#include "engine/ops/elementwise.hpp"

namespace heed {

namespace {

// (outer, size at dim, inner) of a shape split around dim.
heed_view as_3d(const Tensor& contiguous, int64_t dim) {
  heed_view view = ops::view_of(contiguous);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < contiguous.dim(); ++d) {
    if (d < dim) outer *= contiguous.size(d);
    if (d > dim) inner *= contiguous.size(d);
  }
  const int64_t middle = contiguous.dim() == 0 ? 1 : contiguous.size(dim);
  view.ndim = 3;
  view.shape[0] = outer, view.shape[1] = middle, view.shape[2] = inner;
  view.strides[0] = middle * inner, view.strides[1] = inner, view.strides[2] = 1;
  return view;
}

// Every index in [0, size), else a heed::Error naming the op and the offending value.
void check_indices(const char* op, const Tensor& index, int64_t size, const char* what) {
  ops::check_dtype(op, index, kInt64, "index");
  for (int64_t value : index.to_vector<int64_t>()) {
    if (value < 0 || value >= size) {
      fail("{}: index {} is out of range for {} of size {}", op, value, what, size);
    }
  }
}

}  // namespace

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  const profiler::Scope profiled("index_select");
  ops::check_defined("index_select", x, "x");
  const int64_t d = wrap_dim(dim, x.dim(), "index_select");
  if (index.dim() > 1)
    fail("index_select: index must be 1-D, got shape {}", shape_str(index.shape()));
  check_indices("index_select", index, x.dim() == 0 ? 1 : x.size(d), "the selected dim");
  const Tensor flat_index = index.reshape({-1}).contiguous();
  const Tensor source = x.detach().contiguous();
  Shape shape = x.shape();
  if (x.dim() > 0) shape[static_cast<size_t>(d)] = flat_index.numel();
  Tensor out = empty(shape, {x.dtype(), x.device()});
  ops::call_kernel(x, &heed_backend::index_select, "index_select", as_3d(source, d), flat_index,
                   as_3d(out, d));
  return record(out, "index_select", {x}, [x_shape = x.shape(), d, flat_index](const Tensor& dy) {
    // out = x[index]: dx[index[i]] += dy[i] (scatter-add; repeated indices sum)
    Tensor dx = zeros(x_shape, {dy.dtype(), dy.device()});
    ops::call_kernel(dx, &heed_backend::index_add, "index_add", as_3d(dy.contiguous(), d),
                     flat_index, as_3d(dx, d));
    return std::vector<Tensor>{dx};
  });
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  const profiler::Scope profiled("gather");
  ops::check_defined("gather", x, "x");
  const int64_t d = wrap_dim(dim, x.dim(), "gather");
  ops::check_dtype("gather", index, kInt64, "index");
  bool matches = index.dim() == x.dim();
  for (int64_t k = 0; matches && k < x.dim(); ++k) matches = k == d || index.size(k) == x.size(k);
  if (!matches) {
    fail("gather: index of shape {} must match the input's shape {} in every dim but {}",
         shape_str(index.shape()), shape_str(x.shape()), d);
  }
  check_indices("gather", index, x.size(d), "the gathered dim");
  const Tensor source = x.detach().contiguous();
  const Tensor where = index.contiguous();
  Tensor out = empty(index.shape(), {x.dtype(), x.device()});
  ops::call_kernel(x, &heed_backend::gather, "gather", as_3d(source, d), as_3d(where, d),
                   as_3d(out, d));
  return record(out, "gather", {x}, [x_shape = x.shape(), d, where](const Tensor& dy) {
    // out = gather(x, index): dx[.., index[i], ..] += dy[.., i, ..]
    Tensor dx = zeros(x_shape, {dy.dtype(), dy.device()});
    ops::call_kernel(dx, &heed_backend::scatter_add, "scatter_add", as_3d(dy.contiguous(), d),
                     as_3d(where, d), as_3d(dx, d));
    return std::vector<Tensor>{dx};
  });
}

Tensor embedding(const Tensor& weight, const Tensor& indices, std::optional<int64_t> padding_idx) {
  const profiler::Scope profiled("embedding");
  ops::check_floating("embedding", weight);
  ops::check_ndim("embedding", weight, 2, "weight");
  ops::check_dtype("embedding", indices, kInt64, "indices");
  const int64_t rows = weight.size(0), dim = weight.size(1);
  for (int64_t id : indices.to_vector<int64_t>()) {
    if (id < 0 || id >= rows) {
      fail("embedding: token id {} is out of range for a table of {} rows (ids must be in [0, {}))",
           id, rows, rows);
    }
  }
  const Tensor flat_ids = indices.reshape({-1}).contiguous();  // (N)
  Tensor out;
  {
    NoGradGuard no_grad;                      // the lookup's own backward is below
    out = index_select(weight, 0, flat_ids);  // (N, dim)
  }
  Shape shape = indices.shape();
  shape.push_back(dim);
  out = out.reshape(shape);  // (..., dim)
  return record(out, "embedding", {weight}, [rows, dim, flat_ids, padding_idx](const Tensor& dy) {
    // out[i] = weight[ids[i]]: dweight[ids[i]] += dy[i], skipping ids equal to padding_idx
    Tensor grad = dy.reshape({-1, dim}).contiguous();  // (N, dim)
    if (padding_idx) {
      const Tensor keep = ne(flat_ids, int_tensor({*padding_idx}).to(flat_ids.device()))
                              .to(dy.dtype())
                              .unsqueeze(1);
      grad = grad * keep;  // padding rows of dy do not reach the table
    }
    Tensor dweight = zeros({rows, dim}, {dy.dtype(), dy.device()});
    ops::call_kernel(dweight, &heed_backend::index_add, "index_add", as_3d(grad, 0), flat_ids,
                     as_3d(dweight, 0));
    return std::vector<Tensor>{dweight};
  });
}

}  // namespace heed
