// Element and byte counts that cannot overflow. Every shape that reaches the engine comes from
// somewhere a user controls (a flag, a file, a config), so a product of sizes is computed with a
// check: a wrapped-around count would allocate a small block and then write far past it.
// Header-only and free of heed::Error so the CUDA plugin uses the same rules.
#pragma once

#include <cstddef>
#include <cstdint>

namespace heed {

// No single allocation may exceed 2^48 bytes (256 TiB): more than any machine heed runs on
// holds, so a larger request is certainly a mistake, and sizes up to this bound leave room for
// an allocator's rounding and header without wrapping.
inline constexpr uint64_t kMaxAllocationBytes = uint64_t{1} << 48;

// a * b into `product`; false (and `product` untouched) when it does not fit in int64_t.
inline bool multiply_fits(int64_t a, int64_t b, int64_t& product) {
  int64_t result = 0;
  if (__builtin_mul_overflow(a, b, &result)) return false;
  product = result;
  return true;
}

// The bytes of `numel` elements of `element_bytes` each, or false when that exceeds
// kMaxAllocationBytes (or numel is negative).
inline bool bytes_fit(int64_t numel, size_t element_bytes, size_t& bytes) {
  if (numel < 0) return false;
  const uint64_t limit = kMaxAllocationBytes / (element_bytes == 0 ? 1 : element_bytes);
  if (static_cast<uint64_t>(numel) > limit) return false;
  bytes = static_cast<size_t>(numel) * element_bytes;
  return true;
}

}  // namespace heed
