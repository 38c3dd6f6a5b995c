// Small helpers every op file uses: argument checks that throw heed::Error naming the op,
// (from kernel_call.hpp) calling a kernel on the backend of a tensor's device, and the
// profiler's scope that each public op opens first (engine/profiler.hpp).
#pragma once

#include <string_view>

#include "engine/autograd.hpp"
#include "engine/error.hpp"
#include "engine/ops/kernel_call.hpp"
#include "engine/profiler.hpp"
#include "engine/tensor.hpp"

namespace heed::ops {

inline void check_defined(std::string_view op, const Tensor& t, std::string_view name) {
  if (!t.defined()) fail("{}: argument '{}' is an undefined tensor", op, name);
}

inline void check_floating(std::string_view op, const Tensor& t) {
  check_defined(op, t, "input");
  if (!t.is_floating_point()) {
    fail("{}: expected a float32 or float64 tensor, got {} of shape {}", op, dtype_name(t.dtype()),
         shape_str(t.shape()));
  }
}

inline void check_dtype(std::string_view op, const Tensor& t, DType expected,
                        std::string_view name) {
  check_defined(op, t, name);
  if (t.dtype() != expected) {
    fail("{}: expected '{}' to be {}, got {} of shape {}", op, name, dtype_name(expected),
         dtype_name(t.dtype()), shape_str(t.shape()));
  }
}

inline void check_same_dtype_and_device(std::string_view op, const Tensor& a, const Tensor& b) {
  check_defined(op, a, "a");
  check_defined(op, b, "b");
  if (a.dtype() != b.dtype()) {
    fail("{}: expected tensors of one dtype, got {} {} and {} {} (convert one with .to())", op,
         dtype_name(a.dtype()), shape_str(a.shape()), dtype_name(b.dtype()), shape_str(b.shape()));
  }
  if (a.device() != b.device()) {
    fail("{}: expected tensors on one device, got {} and {}", op, a.device().str(),
         b.device().str());
  }
}

inline void check_ndim(std::string_view op, const Tensor& t, int64_t ndim, std::string_view name) {
  if (t.dim() != ndim) {
    fail("{}: expected '{}' to have {} dims, got shape {}", op, name, ndim, shape_str(t.shape()));
  }
}

}  // namespace heed::ops
