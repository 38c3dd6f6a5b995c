// The CPU backend's table: host memory, the fast kernels of this folder, one thread knob.
#include <cblas.h>
#include <tbb/global_control.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <thread>

#include "engine/cpu/allocator.hpp"
#include "engine/cpu/kernels.hpp"

namespace heed::cpu {

namespace {
thread_local std::string error_message;
}  // namespace

int report_error(const char* kernel, const char* what, int32_t code) {
  error_message = std::string(kernel) + ": " + what + " " + std::to_string(code);
  return 1;
}

const char* last_error() {
  return error_message.c_str();
}

namespace {

int copy_bytes(void* dst, const void* src, size_t bytes) {
  std::memcpy(dst, src, bytes);
  return 0;
}
int32_t thread_count = 0;
std::unique_ptr<tbb::global_control> tbb_limit;

heed_backend make_table(bool reference_kernels) {
  heed_backend table{};
  table.api_version = HEED_BACKEND_API_VERSION;
  table.name = reference_kernels ? "cpu (reference kernels)" : "cpu";
  table.allocate = allocate;
  table.release = release;
  table.copy_from_host = copy_bytes;
  table.copy_to_host = copy_bytes;
  table.copy = copy;
  table.fill = fill;
  table.unary = unary;
  table.binary = binary;
  table.where = where;
  table.reduce_rows = reference_kernels ? reference::reduce_rows : reduce_rows;
  table.gemm = reference_kernels ? reference::gemm : gemm;
  table.softmax_forward = reference_kernels ? reference::softmax_forward : softmax_forward;
  table.softmax_backward = reference_kernels ? reference::softmax_backward : softmax_backward;
  table.layer_norm_forward = reference_kernels ? reference::layer_norm_forward : layer_norm_forward;
  table.layer_norm_backward =
      reference_kernels ? reference::layer_norm_backward : layer_norm_backward;
  table.index_select = index_select;
  table.index_add = index_add;
  table.gather = gather;
  table.scatter_add = scatter_add;
  table.cross_entropy_forward =
      reference_kernels ? reference::cross_entropy_forward : cross_entropy_forward;
  table.cross_entropy_backward =
      reference_kernels ? reference::cross_entropy_backward : cross_entropy_backward;
  table.gru_cell_forward = reference_kernels ? reference::gru_cell_forward : gru_cell_forward;
  table.gru_cell_backward = reference_kernels ? reference::gru_cell_backward : gru_cell_backward;
  table.additive_scores_forward =
      reference_kernels ? reference::additive_scores_forward : additive_scores_forward;
  table.additive_scores_backward =
      reference_kernels ? reference::additive_scores_backward : additive_scores_backward;
  table.attention_forward = reference_kernels ? reference::attention_forward : attention_forward;
  table.attention_backward = reference_kernels ? reference::attention_backward : attention_backward;
  table.im2col = reference_kernels ? reference::im2col : im2col;
  table.col2im = reference_kernels ? reference::col2im : col2im;
  // The reference table leaves the fused convolution out: conv2d is then composed from the naive
  // im2col, gemm and col2im, the path the fused kernels are tested against.
  table.conv2d_forward = reference_kernels ? nullptr : conv2d_forward;
  table.conv2d_backward = reference_kernels ? nullptr : conv2d_backward;
  table.max_pool2d_indices = reference_kernels ? reference::max_pool2d_indices : max_pool2d_indices;
  table.adam_step = reference_kernels ? reference::adam_step : adam_step;
  table.set_num_threads = set_num_threads;
  table.last_error = last_error;
  return table;
}

}  // namespace

void set_num_threads(int32_t threads) {
  if (threads < 1) threads = 1;
  thread_count = threads;
  tbb_limit = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                    static_cast<size_t>(threads));
  openblas_set_num_threads(threads);
}

int32_t num_threads() {
  if (thread_count == 0) {
    const char* from_environment = std::getenv("HEED_NUM_THREADS");
    const int requested = from_environment ? std::atoi(from_environment) : 0;
    set_num_threads(requested > 0 ? requested
                                  : static_cast<int32_t>(std::thread::hardware_concurrency()));
  }
  return thread_count;
}

const heed_backend& backend() {
  static const heed_backend table = [] {
    num_threads();  // apply HEED_NUM_THREADS before the first kernel runs
    return make_table(false);
  }();
  return table;
}

const heed_backend& reference_backend() {
  static const heed_backend table = make_table(true);
  return table;
}

}  // namespace heed::cpu
