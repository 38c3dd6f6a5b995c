// exp for float32 written so that loops over it vectorize (no branches, no library call).
// exp(x) = 2^n * exp(r) with n = round(x / ln 2) and |r| <= ln 2 / 2; exp(r) by a degree-6
// polynomial. Relative error below 2e-7 over the whole float range (checked in the tests).
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

// Marks a hot loop function to be compiled twice, for any x86-64 and for x86-64-v3 (AVX2 and FMA),
// with the copy picked once at load time by the CPU the program runs on; flatten inlines the
// helpers it calls into each copy, so they get the wider vectors too. Elsewhere it is empty.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define HEED_ALSO_FOR_AVX2 [[gnu::target_clones("arch=x86-64-v3", "default"), gnu::flatten]]
#else
#define HEED_ALSO_FOR_AVX2
#endif

namespace heed::cpu {

inline float vector_exp(float x) {
  // Beyond these exp under/overflows float. Plain comparisons, not std::fmin/fmax, which
  // compile to library calls that stop the loop around this function from vectorizing.
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  const float round_shift = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
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

// tanh(x) = 1 - 2 / (exp(2x) + 1), through vector_exp so it vectorizes. Its error is absolute
// (about 1e-7), not relative: right for GELU's 1 + tanh(u), not for tiny tanh values themselves.
inline float vector_tanh(float x) {
  return 1.0f - 2.0f / (vector_exp(2.0f * x) + 1.0f);
}

inline double vector_tanh(double x) {
  return std::tanh(x);
}

}  // namespace heed::cpu
