// Shapes, strides and the broadcasting rules shared by every op.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace heed {

using Shape = std::vector<int64_t>;
inline constexpr int64_t kMaxDims = 8;

// The element count of a shape already checked by check_shape (which guarantees it fits).
int64_t numel_of(const Shape& shape);
// The element count, or a heed::Error naming `op` and the shape when it overflows int64_t.
int64_t checked_numel(const Shape& shape, std::string_view op);
// The bytes a contiguous tensor of this shape needs, or a heed::Error naming `op` and the shape
// when that exceeds kMaxAllocationBytes (engine/checked_size.hpp).
size_t checked_bytes(const Shape& shape, size_t element_bytes, std::string_view op);
Shape contiguous_strides(const Shape& shape);
std::string shape_str(const Shape& shape);  // "(2, 3, 4)"

// Wraps a possibly negative dim into [0, ndim); `op` names the caller in the error.
int64_t wrap_dim(int64_t dim, int64_t ndim, std::string_view op);

// NumPy broadcasting: align trailing dims; each pair must be equal or contain a 1.
Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op);

// True when `from` broadcasts to exactly `to` (a mask to the scores it masks, a source to the
// view it is copied into).
bool broadcasts_to(const Shape& from, const Shape& to);

// Checks a shape has at most kMaxDims dims, no negative size, and an element count that fits.
void check_shape(const Shape& shape, std::string_view op);

}  // namespace heed
