// What the CPU's fused conv2d kernels share (engine/cpu/conv2d.cpp, engine/cpu/winograd.cpp):
// the convolution's sizes, how the batch is cut into chunks of images spread over the threads,
// and scratch memory.
#pragma once

#include <algorithm>
#include <climits>
#include <cstdint>

#include "engine/backend.hpp"
#include "engine/cpu/allocator.hpp"
#include "engine/cpu/blas.hpp"
#include "engine/cpu/kernels.hpp"
#include "engine/cpu/strided.hpp"

namespace heed::cpu {

struct ConvGeometry {
  int64_t N, C, H, W;  // x
  int64_t O, groups;   // output channels, in `groups` groups
  int64_t taps, L;     // kh kw; placements per image, blocks[0] blocks[1]
  int64_t group_outputs() const { return O / groups; }
  int64_t group_rows() const { return C / groups * taps; }  // K: one group's rows of columns
  int64_t rows() const { return C * taps; }                 // every group's rows
  int64_t weights() const { return O * group_rows(); }      // the weight's elements
};

inline ConvGeometry geometry_of(const heed_view* x, const heed_view* weight,
                                const heed_window2d& window, int64_t groups) {
  return {x->shape[0],
          x->shape[1],
          x->shape[2],
          x->shape[3],
          weight->shape[0],
          groups,
          window.kernel[0] * window.kernel[1],
          window.blocks[0] * window.blocks[1]};
}

// How the batch is cut: chunks of `images` images (the last may have fewer), and `workers`
// threads, worker w taking chunks [first_chunk(w), first_chunk(w + 1)).
struct Chunking {
  int64_t images, chunks, workers;
  int64_t first_chunk(int64_t worker) const { return chunks * worker / workers; }
};

// Images join a chunk until its products have about `wanted_columns` columns, `per_image` from
// each image.
inline Chunking chunking_of(const ConvGeometry& g, int64_t per_image, int64_t wanted_columns) {
  const int64_t threads = num_threads();
  const int64_t per_thread = (g.N + threads - 1) / threads;  // a chunk never starves a thread
  const int64_t wanted = (wanted_columns + per_image - 1) / per_image;
  const int64_t images = std::clamp<int64_t>(wanted, 1, per_thread);
  const int64_t chunks = (g.N + images - 1) / images;
  return {images, chunks, std::min<int64_t>(threads, chunks)};
}

// Calls body(worker, first_image, images) for every chunk, each worker's chunks in order on one
// thread. With one worker (a batch of one image, or one thread) its products may use every
// thread; otherwise OpenBLAS stays on the thread that calls it.
template <typename Body>
void for_each_chunk(const ConvGeometry& g, const Chunking& cut, Body&& body) {
  const auto run = [&](int64_t worker) {
    for (int64_t chunk = cut.first_chunk(worker); chunk < cut.first_chunk(worker + 1); ++chunk) {
      const int64_t first_image = chunk * cut.images;
      body(worker, first_image, std::min(cut.images, g.N - first_image));
    }
  };
  if (cut.workers == 1) {
    run(0);
    return;
  }
  const SingleThreadedBlas one_thread_each;
  parallel_range(cut.workers, 1, [&](int64_t begin, int64_t end) {
    for (int64_t worker = begin; worker < end; ++worker) run(worker);
  });
}

// The error a kernel returns when its scratch cannot be had: "<kernel>: out of memory for
// scratch, MiB <size>".
inline int scratch_error(const char* kernel, int64_t bytes) {
  const int64_t mib = std::min<int64_t>(bytes >> 20, INT32_MAX);
  return report_error(kernel, "out of memory for scratch, MiB", static_cast<int32_t>(mib));
}

// Scratch memory from the block cache (engine/cpu/allocator.cpp), handed back at the end.
template <typename T>
class Scratch {
 public:
  explicit Scratch(int64_t elements)
      : data_(static_cast<T*>(allocate(sizeof(T) * static_cast<size_t>(elements)))) {}
  ~Scratch() { release(data_); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  T* data() const { return data_; }

 private:
  T* data_;
};

// Winograd's F(2x2, 3x3) (engine/cpu/winograd.cpp): whether it computes this convolution (a
// 3x3 kernel at stride 1, no dilation) and pays (8 or more channels a group on each side, so the
// products dominate, and an output of 4x4 or more).
bool winograd_applies(const ConvGeometry& g, const heed_window2d& window);

// y = conv2d(x, weight) + bias (bias may be nullptr), all contiguous, where winograd_applies.
template <typename T>
int winograd_forward(const ConvGeometry& g, const heed_window2d& window, const T* x,
                     const T* weight, const T* bias, T* y);

// dweight (O, C/g, 3, 3) = the weight's gradient from x and dy, all contiguous, where
// winograd_applies.
template <typename T>
int winograd_weight_gradient(const ConvGeometry& g, const heed_window2d& window, const T* x,
                             const T* dy, T* dweight);

}  // namespace heed::cpu
