// From a kernel's dtype code (heed_dtype) to a C++ type: visit_floating / visit_any call a body
// with a zero of the matching type, so one templated kernel serves every dtype. Shared by the CPU
// kernels and the CUDA plugin; it needs nothing but engine/backend.hpp.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/backend.hpp"

namespace heed {

// body(float{}) or body(double{}).
template <typename Body>
void visit_floating(int32_t dtype, Body&& body) {
  if (dtype == HEED_FLOAT64) {
    body(double{});
  } else {
    body(float{});
  }
}

// Same for every dtype: float, double, int64_t or bool.
template <typename Body>
void visit_any(int32_t dtype, Body&& body) {
  switch (dtype) {
    case HEED_FLOAT32:
      body(float{});
      break;
    case HEED_FLOAT64:
      body(double{});
      break;
    case HEED_INT64:
      body(int64_t{});
      break;
    default:
      body(bool{});
      break;
  }
}

inline size_t dtype_bytes(int32_t dtype) {
  return dtype == HEED_BOOL ? 1 : dtype == HEED_FLOAT32 ? 4 : 8;
}

}  // namespace heed
