// Sums, maxima and dot products over a row of floats, each kept in eight independent lanes. A
// single running sum is a chain of dependent adds the compiler may not reorder, so it stays
// scalar; eight lanes let it fill a vector register. Shared by the softmax, cross-entropy,
// reduction and attention-score kernels.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>

namespace heed::cpu {

// Sum of x[0, n).
template <typename T>
T row_sum(const T* x, int64_t n) {
  T lanes[8] = {};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    for (int l = 0; l < 8; ++l) lanes[l] += x[j + l];
  }
  T total = 0;
  for (; j < n; ++j) total += x[j];
  for (T lane : lanes) total += lane;
  return total;
}

// Max of x[0, n); -infinity for an empty row.
template <typename T>
T row_max(const T* x, int64_t n) {
  T lanes[8];
  for (T& lane : lanes) lane = -std::numeric_limits<T>::infinity();
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    for (int l = 0; l < 8; ++l) lanes[l] = x[j + l] > lanes[l] ? x[j + l] : lanes[l];
  }
  T best = -std::numeric_limits<T>::infinity();
  for (; j < n; ++j) best = x[j] > best ? x[j] : best;
  for (T lane : lanes) best = lane > best ? lane : best;
  return best;
}

// The same for float with the eight lanes in one vector value. GCC leaves a floating-point max
// over separate lanes scalar unless NaN and infinities are given up (-ffinite-math-only
// -fno-signed-zeros), which the -infinity each lane starts from, and any a caller passes, rule
// out. Written on a vector type the loop is one vmaxps per eight keys in the AVX2 copy of the
// kernels (two SSE maxps in the baseline one). It is the softmax forward's first read of each
// row, from memory.
using EightFloats = float __attribute__((vector_size(32)));

inline float row_max(const float* x, int64_t n) {
  const float low = -std::numeric_limits<float>::infinity();
  EightFloats lanes = {low, low, low, low, low, low, low, low};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    EightFloats next;
    std::memcpy(&next, x + j, sizeof next);  // x need not be aligned to 32 bytes
    lanes = next > lanes ? next : lanes;
  }
  float best = low;
  for (; j < n; ++j) best = x[j] > best ? x[j] : best;
  for (int l = 0; l < 8; ++l) best = lanes[l] > best ? lanes[l] : best;
  return best;
}

// Sum of a[j] * b[j] over j < n.
template <typename T>
T row_dot(const T* a, const T* b, int64_t n) {
  T lanes[8] = {};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    for (int l = 0; l < 8; ++l) lanes[l] += a[j + l] * b[j + l];
  }
  T total = 0;
  for (; j < n; ++j) total += a[j] * b[j];
  for (T lane : lanes) total += lane;
  return total;
}

}  // namespace heed::cpu
