// exp for float32 written so that loops over it vectorize (no branches, no library call).
// exp(x) = 2^n * exp(r) with n = round(x / ln 2) and |r| <= ln 2 / 2; exp(r) by a degree-6
// polynomial. Relative error below 2e-7 over the whole float range (checked in the tests). The
// float versions here replace libm's in the elementwise kernels; double keeps libm's.
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

// Placed before a loop whose iterations write disjoint elements though the compiler cannot prove
// it (stores at run-time distances into one array), so that GCC vectorizes the loop anyway.
// Elsewhere empty: clang's equivalent is an error (-Werror) wherever it still cannot vectorize,
// as in the sanitizer build.
#if defined(__GNUC__) && !defined(__clang__)
#define HEED_ITERATIONS_INDEPENDENT _Pragma("GCC ivdep")
#else
#define HEED_ITERATIONS_INDEPENDENT
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
  // A NaN x stays NaN through exp_r; n is replaced by 0 only so that converting it to an integer
  // is defined (a NaN float to int is undefined behaviour).
  const float whole = n == n ? n : 0.0f;
  const int32_t exponent_bits = (static_cast<int32_t>(whole) + 127) << 23;
  return exp_r * std::bit_cast<float>(exponent_bits);
}

inline double vector_exp(double x) {
  return std::exp(x);
}

// tanh with a small relative error everywhere (below 3e-7, checked in the tests), without
// branches or library calls so loops over it vectorize. Beyond |x| = 0.55 it is
// 1 - 2 / (exp(2x) + 1); nearer zero that form would lose the digits of small results to
// cancellation, so there it is tanh's odd Taylor series up to x^15 (the next term is below 1e-7
// of the result).
inline float vector_tanh(float x) {
  const float x2 = x * x;
  float p = -929569.0f / 638512875.0f;
  p = p * x2 + 21844.0f / 6081075.0f;
  p = p * x2 - 1382.0f / 155925.0f;
  p = p * x2 + 62.0f / 2835.0f;
  p = p * x2 - 17.0f / 315.0f;
  p = p * x2 + 2.0f / 15.0f;
  p = p * x2 - 1.0f / 3.0f;
  const float near_zero = x + x * x2 * p;
  const float far = 1.0f - 2.0f / (vector_exp(2.0f * x) + 1.0f);
  return x2 < 0.3025f ? near_zero : far;
}

inline double vector_tanh(double x) {
  return std::tanh(x);
}

}  // namespace heed::cpu
