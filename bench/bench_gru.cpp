// GRU training step throughput: nn::GRU forward and backward at the sizes of a small seq2seq
// model (input 64, 2 layers, batch 64), hidden 32 (bound by per-op overhead) and 256 (bound by
// the matrix products), 10 and 50 time steps. compare_pytorch.py runs torch.nn.GRU beside it.
#include <benchmark/benchmark.h>

#include "nn/nn.hpp"

namespace {

void gru_forward_backward(benchmark::State& state) {
  const int64_t hidden = state.range(0), steps = state.range(1);
  const int64_t input = 64, batch = 64;
  heed::manual_seed(0);
  heed::nn::GRU gru(input, hidden, {.num_layers = 2});
  heed::Tensor x = heed::randn({steps, batch, input}).requires_grad_();  // (T, B, in)
  const heed::Tensor upstream = heed::randn({steps, batch, hidden});
  for (auto _ : state) {
    auto [output, h_n] = gru(x);
    output.backward(upstream);
    gru.zero_grad();
    x.zero_grad();
  }
  state.counters["steps/s"] =
      benchmark::Counter(double(steps), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(gru_forward_backward)
    ->Args({32, 10})
    ->Args({32, 50})
    ->Args({256, 10})
    ->Args({256, 50})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
