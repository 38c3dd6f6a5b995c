// additive_scores: the fused Bahdanau scores against their composite twin (built from ops
// tested elsewhere) and the naive reference kernel, gradcheck in both dtypes, and errors.
#include <array>

#include "tests/helpers.hpp"

using namespace heed;
using namespace heed::testing;

TEST_CASE("additive_scores: fused forward and backward equal the composite and the reference") {
  for (DType dtype : {kFloat64, kFloat32}) {
    const double tolerance = dtype == kFloat64 ? 1e-12 : 3e-6;
    for (const auto& sizes : {std::array<int64_t, 4>{2, 1, 5, 3}, {3, 4, 7, 32}, {1, 2, 3, 19}}) {
      const auto [B, Q, K, H] = sizes;
      INFO("B, Q, K, H " << sizes[0] << ", " << sizes[1] << ", " << sizes[2] << ", " << sizes[3]
                         << ", " << dtype_name(dtype));
      Generator generator(static_cast<uint64_t>(B * 100 + H));
      auto make = [&](const Shape& shape) {
        return (randn(shape, {kFloat64}, &generator) * 1.5).to(dtype).requires_grad_();
      };
      const Tensor qf = make({B, Q, H}), kf = make({B, K, H}), w = make({H});
      Tensor upstream = randn({B, Q, K}, {kFloat64}, &generator).to(dtype);
      // A masked key's score gradient is exactly 0: the fused backward skips those pairs.
      if (K > 2) upstream.narrow(2, K - 2, 2).zero_();
      auto run = [&](auto op) {
        qf.zero_grad(), kf.zero_grad(), w.zero_grad();
        const Tensor scores = op(qf, kf, w);
        (scores * upstream).sum().backward();
        return std::vector<Tensor>{scores, qf.grad(), kf.grad(), w.grad()};
      };
      check_fused(run, additive_scores, additive_scores_composite, tolerance);
    }
  }
}

TEST_CASE("additive_scores: gradcheck in float64 and float32, and errors") {
  check_gradients([](const std::vector<Tensor>& x) { return additive_scores(x[0], x[1], x[2]); },
                  {random64({2, 3, 4}, 51), random64({2, 5, 4}, 52), random64({4}, 53)});
  check_gradients([](const std::vector<Tensor>& x) { return additive_scores(x[0], x[1], x[2]); },
                  {random64({1, 2, 3}, 54).to(kFloat32), random64({1, 4, 3}, 55).to(kFloat32),
                   random64({3}, 56).to(kFloat32)},
                  kFloat32Tolerance);
  check_error(
      [] {
        additive_scores(ones({2, 3, 4}), ones({2, 5, 3}), ones({4}));
      },
      {"additive_scores", "(B, Q, H)", "(2, 3, 4)", "(2, 5, 3)", "(4,)"});
  check_error(
      [] {
        additive_scores(ones({2, 3, 4}), ones({1, 5, 4}), ones({4}));
      },
      {"additive_scores", "(1, 5, 4)"});
  check_error(
      [] {
        additive_scores(ones({2, 3, 4}), ones({2, 5, 4}), ones({4}, {kFloat64}));
      },
      {"additive_scores", "one dtype"});
}
