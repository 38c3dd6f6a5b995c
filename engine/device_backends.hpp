// Which backend serves a device: the built-in CPU backend, or the CUDA plugin loaded with dlopen
// on first use. Also the one thread-count knob for every pool.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/device.hpp"

// The kernel table of engine/backend.hpp; only the op layer and the backends include its
// definition.
struct heed_backend;

namespace heed {

// The backend for `device`; loads the plugin the first time a CUDA tensor is made.
// Throws heed::Error naming the paths searched when the plugin or the GPU is missing.
const heed_backend& backend_for(Device device);

// Throws heed::Error when a kernel reports a failure (device errors, never user input).
void check_kernel(const heed_backend& backend, int status, const char* kernel);

// Sets the threads used by oneTBB loops and by OpenBLAS, together, so they never nest.
// The default is HEED_NUM_THREADS when set, else the number of cores.
void set_num_threads(int threads);
int get_num_threads();

// The CPU backend keeps freed blocks of 1 KiB and more for reuse (up to 2 GiB idle; a block not
// reused for about a million allocations is freed), so a training step does not fault in fresh
// pages for the same buffers every time. These report and release
// that cache, like torch.cuda.empty_cache() for a GPU. Sanitizer builds do not cache, so that
// AddressSanitizer sees every use after free.
size_t cpu_cached_bytes();
void empty_cpu_cache();

// Host memory as PyTorch's memory_stats reports device memory: bytes in tensors now (live,
// counted in the allocator's size classes), the most live at once since the start or the last
// reset_peak_memory_stats (peak), and freed blocks kept for reuse (cached).
struct MemoryStats {
  size_t live_bytes = 0, peak_bytes = 0, cached_bytes = 0;
};
MemoryStats memory_stats();
void reset_peak_memory_stats();

// While alive, CPU tensors created or computed use the naive reference kernels (triple-loop
// gemm, serial softmax, ...) instead of the fast ones: tests compare one against the other.
class ReferenceKernelsGuard {
 public:
  ReferenceKernelsGuard();
  ~ReferenceKernelsGuard();
  ReferenceKernelsGuard(const ReferenceKernelsGuard&) = delete;
  ReferenceKernelsGuard& operator=(const ReferenceKernelsGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace heed
