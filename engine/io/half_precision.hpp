// Half-precision floats as safetensors files store them (most published checkpoints ship F16 or
// BF16), widened to float32 exactly: every half and bfloat16 value is a float32 value.
#pragma once

#include <bit>
#include <cstdint>

namespace heed {

// bfloat16 is the top half of a float32: the same sign, exponent and leading 7 mantissa bits.
inline float float_from_bf16(uint16_t bits) {
  return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16);
}

// IEEE 754 binary16: 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits.
inline float float_from_f16(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000) << 16;
  const uint32_t exponent = (bits >> 10) & 0x1F;
  uint32_t mantissa = bits & 0x3FF;
  if (exponent == 0x1F) {  // inf and NaN keep their mantissa
    return std::bit_cast<float>(sign | 0x7F800000u | (mantissa << 13));
  }
  if (exponent != 0) {  // normal: rebias 15 -> 127
    return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
  }
  if (mantissa == 0) return std::bit_cast<float>(sign);  // +-0
  // Subnormal: mantissa * 2^-24; shift it up until it has a leading 1, lowering the exponent.
  int32_t shift = 0;
  while ((mantissa & 0x400) == 0) mantissa <<= 1, ++shift;
  mantissa &= 0x3FF;
  const auto float_exponent = static_cast<uint32_t>(113 - shift);  // 127 - 14 - shift
  return std::bit_cast<float>(sign | (float_exponent << 23) | (mantissa << 13));
}

}  // namespace heed
