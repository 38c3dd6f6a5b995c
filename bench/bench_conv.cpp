// conv2d forward and backward (input, weight and bias gradients) at the attention zoo's shapes
// and at (64, 64, 32, 32) 3x3, beside OpenBLAS sgemm called directly: the peak the convolution's
// matrix products could reach. bench/compare_conv.py runs it next to PyTorch.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <vector>

#include "bench/sgemm_peak.hpp"
#include "engine/heed.hpp"

namespace {

using heed::Tensor;

// Args: batch, in channels, height (= width), out channels; 3x3, padding 1, stride 1.
void conv2d_forward_backward(benchmark::State& state) {
  const int64_t n = state.range(0), c = state.range(1), size = state.range(2), o = state.range(3);
  heed::Generator generator(0);
  Tensor x = heed::randn({n, c, size, size}, {}, &generator).requires_grad_();
  Tensor w = heed::randn({o, c, 3, 3}, {}, &generator).requires_grad_();
  Tensor b = heed::randn({o}, {}, &generator).requires_grad_();
  const Tensor upstream = heed::randn({n, o, size, size}, {}, &generator);
  for (auto _ : state) {
    heed::conv2d(x, w, b, {.padding = {1, 1}}).backward(upstream);
    x.zero_grad();
    w.zero_grad();
    b.zero_grad();
  }
  // the forward's product and the backward's two: 3 * 2 * N * O * C * 9 * H * W flops
  state.counters["GFLOP/s"] = benchmark::Counter(6.0 * double(n * o * c * 9 * size * size),
                                                 benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}
BENCHMARK(conv2d_forward_backward)
    ->Args({64, 1, 8, 32})    // classify conv1
    ->Args({64, 32, 4, 64})   // classify conv2
    ->Args({64, 3, 32, 32})   // detect conv1
    ->Args({64, 32, 16, 64})  // detect conv2
    ->Args({64, 64, 8, 64})   // detect conv3
    ->Args({64, 64, 32, 64})  // the (64, 64, 32, 32)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

BENCHMARK(openblas_sgemm_1024)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
