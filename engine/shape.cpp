// Shapes and strides: numel, contiguous strides, broadcasting, and dims counted from the end.
#include "engine/shape.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/checked_size.hpp"
#include "engine/error.hpp"

namespace heed {

void Shape::check_fits(size_t count) {
  if (count > kCapacity) {
    fail("a shape holds at most {} numbers, got {} (tensors have at most {} dims)", kCapacity,
         count, kMaxDims);
  }
}

int64_t numel_of(const Shape& shape) {
  int64_t n = 1;
  for (int64_t size : shape) n *= size;
  return n;
}

int64_t checked_numel(const Shape& shape, std::string_view op) {
  int64_t n = 1;
  for (int64_t size : shape) {
    if (!multiply_fits(n, size, n)) {
      fail("{}: shape {} has more elements than a 64-bit count can hold", op, shape_str(shape));
    }
  }
  return n;
}

size_t checked_bytes(const Shape& shape, size_t element_bytes, std::string_view op) {
  size_t bytes = 0;
  if (!bytes_fit(checked_numel(shape, op), element_bytes, bytes)) {
    fail("{}: shape {} needs {} elements of {} bytes, more than the {} bytes one tensor may hold",
         op, shape_str(shape), checked_numel(shape, op), element_bytes, kMaxAllocationBytes);
  }
  return bytes;
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t stride = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= shape[i];
  }
  return strides;
}

std::string shape_str(const Shape& shape) {
  if (shape.size() == 1) return fmt::format("({},)", shape[0]);
  return fmt::format("({})", fmt::join(shape, ", "));
}

int64_t wrap_dim(int64_t dim, int64_t ndim, std::string_view op) {
  const int64_t rank = ndim == 0 ? 1 : ndim;  // a 0-d tensor accepts dim 0 and -1, as in PyTorch
  if (dim < -rank || dim >= rank) {
    fail("{}: dim {} is out of range for a tensor with {} dims (expected {} to {})", op, dim, ndim,
         -rank, rank - 1);
  }
  return dim < 0 ? dim + rank : dim;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op) {
  const size_t ndim = std::max(a.size(), b.size());
  Shape out(ndim);
  for (size_t i = 0; i < ndim; ++i) {
    const int64_t size_a = i < ndim - a.size() ? 1 : a[i - (ndim - a.size())];
    const int64_t size_b = i < ndim - b.size() ? 1 : b[i - (ndim - b.size())];
    if (size_a != size_b && size_a != 1 && size_b != 1) {
      fail("{}: shapes {} and {} cannot be broadcast together (dim {}: {} vs {})", op, shape_str(a),
           shape_str(b), i, size_a, size_b);
    }
    out[i] = size_a == 1 ? size_b : size_a;
  }
  return out;
}

bool broadcasts_to(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  const size_t leading = to.size() - from.size();
  for (size_t i = 0; i < from.size(); ++i) {
    if (from[i] != 1 && from[i] != to[leading + i]) return false;
  }
  return true;
}

void check_shape(const Shape& shape, std::string_view op) {
  if (static_cast<int64_t>(shape.size()) > kMaxDims) {
    fail("{}: tensors have at most {} dims, got shape {} with {}", op, kMaxDims, shape_str(shape),
         shape.size());
  }
  for (int64_t size : shape) {
    if (size < 0) fail("{}: sizes must be non-negative, got shape {}", op, shape_str(shape));
  }
  (void)checked_numel(shape, op);
}

}  // namespace heed
