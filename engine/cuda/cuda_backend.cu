// The CUDA backend plugin's entry point and its memory: heed_backend_init checks that a device
// is usable and returns the kernel table; allocate/release keep freed device blocks in a cache
// (cudaMalloc and cudaFree synchronise the device and are slow), and the copies move bytes
// between host and device. The engine loads this library with dlopen (engine/device_backends.cpp).
#include <map>
#include <mutex>
#include <vector>

#include "engine/checked_size.hpp"
#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.hpp"

namespace heed::cuda {

namespace {

std::mutex error_lock;
std::string last_error_message = "no error";

// Freed blocks by size, rounded up to 512 bytes below 1 MiB and to whole MiB above.
struct BlockCache {
  std::mutex lock;
  std::map<size_t, std::vector<void*>> idle;
  std::map<void*, size_t> sizes;  // every live or idle block's size class
};

BlockCache& cache() {
  static BlockCache* instance = new BlockCache();  // never destroyed: tensors may outlive main
  return *instance;
}

size_t size_class(size_t bytes) {
  const size_t granule = bytes >= (size_t{1} << 20) ? (size_t{1} << 20) : 512;
  return (std::max<size_t>(bytes, 1) + granule - 1) / granule * granule;
}

const char* get_last_error() {
  const std::lock_guard guard(error_lock);
  return last_error_message.c_str();
}

void set_threads(int32_t) {}  // the GPU has no thread pool to size

}  // namespace

void set_error(const std::string& message) {
  const std::lock_guard guard(error_lock);
  last_error_message = message;
}

int fail(const char* what, cudaError_t error) {
  set_error(std::string(what) + ": " + cudaGetErrorString(error));
  return 1;
}

int unknown_op(const char* kernel, int32_t op) {
  set_error(std::string(kernel) + ": unknown op code " + std::to_string(op));
  return 1;
}

int check_launch(const char* kernel) {
  const cudaError_t error = cudaGetLastError();
  return error == cudaSuccess ? 0 : fail(kernel, error);
}

int64_t numel(const heed_view& v) {
  int64_t n = 1;
  for (int32_t d = 0; d < v.ndim; ++d) n *= v.shape[d];
  return n;
}

void* allocate(size_t bytes) {
  if (bytes > heed::kMaxAllocationBytes) {  // the size class must not wrap
    fail("cudaMalloc", cudaErrorMemoryAllocation);
    return nullptr;
  }
  const size_t block_size = size_class(bytes);
  BlockCache& blocks = cache();
  {
    const std::lock_guard guard(blocks.lock);
    auto found = blocks.idle.find(block_size);
    if (found != blocks.idle.end() && !found->second.empty()) {
      void* block = found->second.back();
      found->second.pop_back();
      return block;
    }
  }
  void* block = nullptr;
  cudaError_t error = cudaMalloc(&block, block_size);
  if (error == cudaErrorMemoryAllocation) {  // give the cached blocks back and try once more
    const std::lock_guard guard(blocks.lock);
    for (auto& [size, list] : blocks.idle) {
      for (void* idle : list) {
        cudaFree(idle);
        blocks.sizes.erase(idle);
      }
    }
    blocks.idle.clear();
    (void)cudaGetLastError();
    error = cudaMalloc(&block, block_size);
  }
  if (error != cudaSuccess) {
    fail("cudaMalloc", error);
    return nullptr;
  }
  const std::lock_guard guard(blocks.lock);
  blocks.sizes[block] = block_size;
  return block;
}

void release(void* pointer) {
  if (pointer == nullptr) return;
  BlockCache& blocks = cache();
  const std::lock_guard guard(blocks.lock);
  blocks.idle[blocks.sizes.at(pointer)].push_back(pointer);
}

int copy_from_host(void* device_dst, const void* host_src, size_t bytes) {
  if (bytes == 0) return 0;
  const cudaError_t error = cudaMemcpy(device_dst, host_src, bytes, cudaMemcpyHostToDevice);
  return error == cudaSuccess ? 0 : fail("copy to the GPU", error);
}

int copy_to_host(void* host_dst, const void* device_src, size_t bytes) {
  if (bytes == 0) return 0;
  const cudaError_t error = cudaMemcpy(host_dst, device_src, bytes, cudaMemcpyDeviceToHost);
  return error == cudaSuccess ? 0 : fail("copy from the GPU", error);
}

}  // namespace heed::cuda

extern "C" __attribute__((visibility("default"))) const heed_backend* heed_backend_init(
    const char** reason) {
  using namespace heed::cuda;
  static std::string why;
  int devices = 0;
  const cudaError_t error = cudaGetDeviceCount(&devices);
  if (error != cudaSuccess) {
    why = std::string("the CUDA runtime found no usable driver or device (") +
          cudaGetErrorString(error) + ")";
    *reason = why.c_str();
    return nullptr;
  }
  if (devices == 0) {
    *reason = "the CUDA driver reports no GPU";
    return nullptr;
  }
  static heed_backend table{};
  table.api_version = HEED_BACKEND_API_VERSION;
  table.name = "cuda";
  table.allocate = allocate;
  table.release = release;
  table.copy_from_host = copy_from_host;
  table.copy_to_host = copy_to_host;
  table.copy = copy;
  table.fill = fill;
  table.unary = unary;
  table.binary = binary;
  table.where = where;
  table.reduce_rows = reduce_rows;
  table.gemm = gemm;
  table.softmax_forward = softmax_forward;
  table.softmax_backward = softmax_backward;
  table.layer_norm_forward = layer_norm_forward;
  table.layer_norm_backward = layer_norm_backward;
  table.index_select = index_select;
  table.index_add = index_add;
  table.gather = gather;
  table.scatter_add = scatter_add;
  table.cross_entropy_forward = cross_entropy_forward;
  table.cross_entropy_backward = cross_entropy_backward;
  table.gru_cell_forward = gru_cell_forward;
  table.gru_cell_backward = gru_cell_backward;
  table.additive_scores_forward = additive_scores_forward;
  table.additive_scores_backward = additive_scores_backward;
  table.attention_forward = attention_forward;
  table.attention_backward = attention_backward;
  table.im2col = im2col;
  table.col2im = col2im;
  table.max_pool2d_indices = max_pool2d_indices;
  table.adam_step = adam_step;
  table.set_num_threads = set_threads;
  table.last_error = get_last_error;
  return &table;
}
