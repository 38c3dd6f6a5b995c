// Microbenchmarks of the kernels attention lives on: batched matmul forward+backward, one large
// matmul next to OpenBLAS sgemm called directly, masked softmax forward+backward, causal attention
// fused and composite, and STREAM's triad to measure the memory bandwidth the softmax figures are
// compared with.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <string>
#include <thread>
#include <vector>

#include "bench/sgemm_peak.hpp"
#include "engine/heed.hpp"

namespace {

using heed::Tensor;

void bmm_forward_backward(benchmark::State& state) {
  const int64_t b = state.range(0), m = state.range(1), k = state.range(2), n = state.range(3);
  heed::Generator generator(0);
  Tensor x = heed::randn({b, m, k}, {}, &generator).requires_grad_();
  Tensor y = heed::randn({b, k, n}, {}, &generator).requires_grad_();
  const Tensor upstream = heed::randn({b, m, n}, {}, &generator);
  for (auto _ : state) {
    const Tensor out = heed::bmm(x, y);
    out.backward(upstream);
    x.zero_grad();
    y.zero_grad();
  }
  // forward is one product, backward two: 3 * 2 * b * m * k * n flops
  state.counters["GFLOP/s"] =
      benchmark::Counter(6.0 * double(b * m * k * n), benchmark::Counter::kIsIterationInvariantRate,
                         benchmark::Counter::kIs1000);
}
BENCHMARK(bmm_forward_backward)
    ->Args({256, 64, 32, 64})
    ->Args({64, 128, 64, 128})
    ->Args({48, 256, 64, 256})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

void matmul_1024(benchmark::State& state) {
  heed::Generator generator(0);
  const Tensor a = heed::randn({1024, 1024}, {}, &generator),
               b = heed::randn({1024, 1024}, {}, &generator);
  for (auto _ : state) benchmark::DoNotOptimize(heed::matmul(a, b));
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * 1024 * 1024 * 1024, benchmark::Counter::kIsIterationInvariantRate,
                         benchmark::Counter::kIs1000);
}
BENCHMARK(matmul_1024)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK(openblas_sgemm_1024)->Unit(benchmark::kMillisecond)->UseRealTime();

void masked_softmax_forward_backward(benchmark::State& state) {
  const int64_t b = state.range(0), q = state.range(1), k = state.range(2);
  heed::Generator generator(0);
  Tensor x = heed::randn({b, q, k}, {}, &generator).requires_grad_();
  const Tensor lengths = heed::randint(1, k + 1, {b}, &generator);
  const Tensor upstream = heed::randn({b, q, k}, {}, &generator);
  for (auto _ : state) {
    const Tensor y = heed::masked_softmax(x, {.valid_lens = lengths});
    y.backward(upstream);
    x.zero_grad();
  }
  // bytes the fused kernels must move: forward reads x, writes y; backward reads y, dy, writes dx
  state.counters["GB/s"] =
      benchmark::Counter(5.0 * 4 * double(b * q * k), benchmark::Counter::kIsIterationInvariantRate,
                         benchmark::Counter::kIs1000);
}
BENCHMARK(masked_softmax_forward_backward)
    ->Args({1024, 64, 64})
    ->Args({384, 256, 256})
    ->Args({96, 512, 512})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// Causal self-attention forward + backward at (B, H, T, d): the fused op (range(4) = 1) against
// the composite (matmul, masked_softmax, matmul; range(4) = 0). FLOPs counted as the composite
// does them (all T x T scores: 2 products forward, 4 backward), so the fused op's figure shows
// what skipping the hidden tiles buys.
void causal_attention_forward_backward(benchmark::State& state) {
  const int64_t b = state.range(0), h = state.range(1), t = state.range(2), d = state.range(3);
  const bool fused = state.range(4) == 1;
  heed::Generator generator(0);
  Tensor q = heed::randn({b, h, t, d}, {}, &generator).requires_grad_();
  Tensor k = heed::randn({b, h, t, d}, {}, &generator).requires_grad_();
  Tensor v = heed::randn({b, h, t, d}, {}, &generator).requires_grad_();
  const Tensor upstream = heed::randn({b, h, t, d}, {}, &generator);
  for (auto _ : state) {
    const Tensor out =
        fused ? heed::scaled_dot_product_attention(q, k, v, {.causal = true})
              : heed::scaled_dot_product_attention_composite(q, k, v, {.causal = true});
    out.backward(upstream);
    q.zero_grad(), k.zero_grad(), v.zero_grad();
  }
  state.SetLabel(fused ? "fused" : "composite");
  state.counters["GFLOP/s"] = benchmark::Counter(12.0 * double(b * h * t * t * d),
                                                 benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}
BENCHMARK(causal_attention_forward_backward)
    ->Args({16, 6, 256, 64, 0})  // GPT medium, batch 16
    ->Args({16, 6, 256, 64, 1})
    ->Args({1, 12, 1024, 64, 0})  // GPT-2's full context
    ->Args({1, 12, 1024, 64, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// STREAM's triad, a[i] = b[i] + s * c[i] over three arrays of 64 MiB, one fused loop split into
// one contiguous slice per heed thread: the memory bandwidth the softmax figures are compared
// with. Counted as STREAM counts it: 3 float streams per element (read b, read c, write a).
void triad(benchmark::State& state) {
  const int64_t n = int64_t{16} << 20;
  std::vector<float> a(n), b(n, 1.0f), c(n, 2.0f);
  const float scale = 3.0f;
  const int64_t workers = heed::get_num_threads();
  for (auto _ : state) {
    std::vector<std::thread> threads;
    for (int64_t w = 0; w < workers; ++w) {
      threads.emplace_back([&, w] {
        const int64_t begin = n * w / workers, end = n * (w + 1) / workers;
        for (int64_t i = begin; i < end; ++i) a[i] = b[i] + scale * c[i];
      });
    }
    for (std::thread& thread : threads) thread.join();
    benchmark::DoNotOptimize(a.data());
  }
  state.counters["GB/s"] =
      benchmark::Counter(3.0 * 4 * double(n), benchmark::Counter::kIsIterationInvariantRate,
                         benchmark::Counter::kIs1000);
}
BENCHMARK(triad)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

// OpenBLAS picks its kernels by the CPU it detects at load time (OPENBLAS_CORETYPE overrides it);
// the figures mean little without knowing which it picked, so it goes into the report's context.
int main(int argc, char** argv) {
  benchmark::AddCustomContext("openblas_core", openblas_get_corename());
  benchmark::AddCustomContext("heed_threads", std::to_string(heed::get_num_threads()));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
