// exp for float32 written so that loops over it vectorize (no branches, no library call).
// exp(x) = 2^n * exp(r) with n = round(x / ln 2) and |r| <= ln 2 / 2; exp(r) by a degree-6
// polynomial. Relative error below 2e-7 over the whole float range (checked in the tests).
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace heed::cpu {

inline float vector_exp(float x) {
  x = std::fmin(std::fmax(x, -87.0f), 88.0f);  // beyond these exp under/overflows float
  const float round_shift = 12582912.0f;       // 1.5 * 2^23: adding it rounds to an integer
  const float n = (x * 1.44269504088896341f + round_shift) - round_shift;
  // r = x - n ln2, with ln2 split in a high and a low part to keep r exact.
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float exp_r = p * r * r + r + 1.0f;
  const int32_t exponent_bits = (static_cast<int32_t>(n) + 127) << 23;
  return exp_r * std::bit_cast<float>(exponent_bits);
}

inline double vector_exp(double x) {
  return std::exp(x);
}

}  // namespace heed::cpu
