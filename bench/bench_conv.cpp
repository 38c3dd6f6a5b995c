// conv2d and conv_transpose2d forward and backward (input, weight and bias gradients) at the
// attention zoo's shapes and at (64, 64, 32, 32) 3x3, beside OpenBLAS sgemm called directly: the
// peak the convolutions' matrix products could reach. bench/compare_conv.py runs it next to
// PyTorch.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <vector>

#include "bench/sgemm_peak.hpp"
#include "engine/heed.hpp"

namespace {

using heed::Shape;
using heed::Tensor;

// One step of `convolution` (forward, then backward to x, the weight and the bias) per
// iteration; `multiply_adds` is the forward's count, the backward does it twice more.
template <typename Convolution>
void time_steps(benchmark::State& state, const Shape& x_shape, const Shape& w_shape,
                Convolution&& convolution, double multiply_adds) {
  heed::Generator generator(0);
  Tensor x = heed::randn(x_shape, {}, &generator).requires_grad_();
  Tensor w = heed::randn(w_shape, {}, &generator).requires_grad_();
  Tensor b = heed::randn({w_shape[convolution.bias_axis]}, {}, &generator).requires_grad_();
  const Tensor upstream = heed::randn(convolution(x, w, b).shape(), {}, &generator);
  for (auto _ : state) {
    convolution(x, w, b).backward(upstream);
    x.zero_grad();
    w.zero_grad();
    b.zero_grad();
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(3 * 2 * multiply_adds, benchmark::Counter::kIsIterationInvariantRate,
                         benchmark::Counter::kIs1000);
}

// Args: batch, in channels, height (= width), out channels, stride; 3x3, padding 1.
void conv2d_forward_backward(benchmark::State& state) {
  const int64_t n = state.range(0), c = state.range(1), size = state.range(2), o = state.range(3),
                stride = state.range(4);
  struct {
    int64_t stride, bias_axis = 0;  // the weight is (O, C, 3, 3)
    Tensor operator()(const Tensor& x, const Tensor& w, const Tensor& b) const {
      return heed::conv2d(x, w, b, {.stride = {stride, stride}, .padding = {1, 1}});
    }
  } convolution{stride};
  const int64_t out = (size - 1) / stride + 1;  // the output's side
  time_steps(state, {n, c, size, size}, {o, c, 3, 3}, convolution,
             double(n * o * c * 9 * out * out));
}
BENCHMARK(conv2d_forward_backward)
    ->Args({64, 1, 8, 32, 1})    // classify conv1
    ->Args({64, 32, 4, 64, 1})   // classify conv2
    ->Args({64, 3, 32, 32, 1})   // detect conv1
    ->Args({64, 32, 16, 64, 1})  // detect conv2
    ->Args({64, 64, 8, 64, 1})   // detect conv3
    ->Args({64, 1, 8, 32, 2})    // gan discriminator conv1
    ->Args({64, 32, 4, 64, 2})   // gan discriminator conv2
    ->Args({64, 64, 32, 64, 1})  // the (64, 64, 32, 32)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// Args: batch, in channels, height (= width), out channels; 4x4, stride 2, padding 1 (doubles
// the map).
void conv_transpose2d_forward_backward(benchmark::State& state) {
  const int64_t n = state.range(0), c = state.range(1), size = state.range(2), o = state.range(3);
  struct {
    int64_t bias_axis = 1;  // the weight is (C, O, 4, 4)
    Tensor operator()(const Tensor& x, const Tensor& w, const Tensor& b) const {
      return heed::conv_transpose2d(x, w, b, {.stride = {2, 2}, .padding = {1, 1}});
    }
  } convolution;
  time_steps(state, {n, c, size, size}, {c, o, 4, 4}, convolution,
             double(n * c * o * 16 * size * size));
}
BENCHMARK(conv_transpose2d_forward_backward)
    ->Args({64, 128, 2, 64})  // gan generator deconv1
    ->Args({64, 64, 4, 1})    // gan generator deconv2
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

BENCHMARK(openblas_sgemm_1024)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
