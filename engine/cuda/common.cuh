// What every CUDA kernel file shares: the plugin's error state, the walk from a linear element
// index to a strided view's offset, launch sizes and warp reductions. (Dtype dispatch is
// engine/dtype_dispatch.hpp, shared with the CPU kernels.)
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "engine/backend.hpp"
#include "engine/dtype_dispatch.hpp"

namespace heed::cuda {

// The last failure, for heed_backend::last_error. Kernels return fail(...) on a CUDA error.
void set_error(const std::string& message);
int fail(const char* what, cudaError_t error);
// An op code this plugin has no kernel for (the op layer never sends one): recorded, non-zero.
int unknown_op(const char* kernel, int32_t op);
// After a launch: 0, or the launch's error recorded and non-zero.
int check_launch(const char* kernel);

constexpr int kThreads = 256;
inline int blocks_for(int64_t n) {
  const int64_t blocks = (n + kThreads - 1) / kThreads;
  return static_cast<int>(blocks < 65535 ? (blocks > 0 ? blocks : 1) : 65535);
}

int64_t numel(const heed_view& v);

// The offset of element `linear` (row-major order over v's shape) in v's storage.
__device__ inline int64_t offset_of(const heed_view& v, int64_t linear) {
  int64_t offset = 0;
  for (int d = v.ndim - 1; d >= 0; --d) {
    const int64_t size = v.shape[d];
    offset += (linear % size) * v.strides[d];
    linear /= size;
  }
  return offset;
}

// Sums over the threads of a warp; every lane gets the total.
template <typename T>
__device__ inline T warp_sum(T value) {
  for (int offset = 16; offset > 0; offset /= 2)
    value += __shfl_xor_sync(0xffffffffu, value, offset);
  return value;
}

template <typename T>
__device__ inline T warp_max(T value) {
  for (int offset = 16; offset > 0; offset /= 2) {
    const T other = __shfl_xor_sync(0xffffffffu, value, offset);
    value = other > value ? other : value;
  }
  return value;
}

}  // namespace heed::cuda
