// OpenBLAS sgemm 1024^3 called directly, at heed's thread setting: the peak a benchmark's matrix
// products are compared with, measured in the same run. Registered by each program that
// includes it.
#pragma once

#include <benchmark/benchmark.h>
#include <cblas.h>

#include <vector>

#include "engine/heed.hpp"

inline void openblas_sgemm_1024(benchmark::State& state) {
  heed::get_num_threads();  // same thread setting as heed's
  std::vector<float> a(1024 * 1024, 0.5f), b(1024 * 1024, 0.25f), c(1024 * 1024);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1024, 1024, 1024, 1.0f, a.data(), 1024,
                b.data(), 1024, 0.0f, c.data(), 1024);
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * 1024 * 1024 * 1024, benchmark::Counter::kIsIterationInvariantRate,
                         benchmark::Counter::kIs1000);
}
