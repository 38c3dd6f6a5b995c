// ops::call_kernel: the one way an op calls a kernel. It takes the entry of heed_backend to call
// and its arguments as the op holds them: each Tensor becomes the heed_view the kernel reads (an
// undefined Tensor becomes nullptr, a kernel's "absent"), anything else (an op code, eps, a mask
// struct) is passed as it is. A non-zero status becomes a heed::Error naming the entry and the
// backend's last_error(). So a fused backward reads as its formula and one call:
//
//   // dx = y * (dy - sum(dy * y))
//   ops::call_kernel(y, &heed_backend::softmax_backward, "softmax_backward", y, dy, 0, dx);
#pragma once

#include <tuple>
#include <type_traits>

#include "engine/backend.hpp"
#include "engine/device_backends.hpp"
#include "engine/error.hpp"
#include "engine/profiler.hpp"
#include "engine/tensor.hpp"

namespace heed::ops {

inline const heed_backend& kernels_of(const Tensor& t) {
  return backend_for(t.device());
}

// A kernel reads a tensor's dtype as its number: the two enums must agree value for value.
static_assert(static_cast<int32_t>(kFloat32) == HEED_FLOAT32);
static_assert(static_cast<int32_t>(kFloat64) == HEED_FLOAT64);
static_assert(static_cast<int32_t>(kInt64) == HEED_INT64);
static_assert(static_cast<int32_t>(kBool) == HEED_BOOL);

// The kernel's view of a tensor: where element 0 is, its dtype, shape and strides (in elements).
// check_shape keeps every tensor within HEED_MAX_DIMS dims.
inline heed_view view_of(const Tensor& t) {
  heed_view view{};
  view.data = t.raw_data();
  view.dtype = static_cast<int32_t>(t.dtype());
  view.ndim = static_cast<int32_t>(t.dim());
  for (int64_t d = 0; d < t.dim(); ++d) {
    view.shape[d] = t.size(d);
    view.strides[d] = t.stride(d);
  }
  return view;
}

namespace kernel_arguments {

// A Tensor argument's view, kept alive for the length of the call.
struct View {
  heed_view view{};
  bool present = false;
};

inline View hold(const Tensor& t) {
  if (!t.defined()) return View{};
  return View{view_of(t), true};  // built in place: one pass over the view, not two
}
// A view the op built itself (say, a tensor seen as (outer, n, inner)).
inline View hold(const heed_view& view) {
  return {view, true};
}
template <typename Value>
requires(!std::is_same_v<Value, Tensor> && !std::is_same_v<Value, heed_view>) Value
    hold(const Value& value) {
  return value;
}

inline const heed_view* pass(const View& held) {
  return held.present ? &held.view : nullptr;
}
template <typename Value>
const Value& pass(const Value& value) {
  return value;
}

}  // namespace kernel_arguments

// Calls `entry` of the kernel table of `on`'s device with `arguments` (Tensors as views). With
// HEED_PROFILE=1 each call is a kernel row of the profile, under the entry's name.
template <typename Entry, typename... Arguments>
void call_kernel(const Tensor& on, Entry heed_backend::*entry, const char* entry_name,
                 const Arguments&... arguments) {
  const profiler::Scope profiled(entry_name, profiler::Kind::kernel);
  const heed_backend& kernels = kernels_of(on);
  // Only an optional entry can be empty (the loader refuses other gaps); an op checks before
  // taking it, but the table may change between a forward and its backward
  // (ReferenceKernelsGuard).
  if (kernels.*entry == nullptr)
    fail("{}: the {} backend has no such kernel", entry_name, kernels.name);
  const auto held = std::make_tuple(kernel_arguments::hold(arguments)...);
  const int status = std::apply(
      [&](const auto&... value) { return (kernels.*entry)(kernel_arguments::pass(value)...); },
      held);
  check_kernel(kernels, status, entry_name);
}

}  // namespace heed::ops
