// layer_norm: the fused op against its composite and the reference kernels.
#include "tests/helpers.hpp"

using namespace heed;
using namespace heed::testing;

TEST_CASE("layer_norm matches its composite and the reference kernels") {
  const Tensor x = random64({4, 3, 6}, 121), weight = random64({6}, 122), bias = random64({6}, 123);
  check_close(layer_norm(x, {6}, weight, bias), layer_norm_composite(x, {6}, weight, bias), 1e-12,
              1e-10);
  check_close(layer_norm(x, {3, 6}), layer_norm_composite(x, {3, 6}), 1e-12, 1e-10);
  // each normalised row has mean 0 and (biased) variance 1
  const Tensor y = layer_norm(x, {6});
  for (double m : y.mean({-1}).to_vector<double>()) CHECK(std::abs(m) < 1e-12);
  for (double v : (y * y).mean({-1}).to_vector<double>())
    CHECK(v == doctest::Approx(1.0).epsilon(1e-4));
  check_gradients([](const auto& in) { return layer_norm(in[0], {5}, in[1], in[2]); },
                  {random64({3, 5}, 124), random64({5}, 125), random64({5}, 126)});
  check_gradients(
      [](const auto& in) {
        return layer_norm(in[0], {2, 3});
      },
      {random64({2, 2, 3}, 127)});
  check_gradients([](const auto& in) { return layer_norm(in[0], {5}, in[1], in[2]); },
                  {random64({3, 5}, 128).to(kFloat32), random64({5}, 129).to(kFloat32),
                   random64({5}, 130).to(kFloat32)},
                  kFloat32Tolerance);
  Tensor a = random64({33, 17}, 131).requires_grad_(), w = random64({17}, 132).requires_grad_();
  layer_norm(a, {17}, w).pow(2.0).sum().backward();
  const Tensor fast_a = a.grad(), fast_w = w.grad();
  a.zero_grad();
  w.zero_grad();
  {
    ReferenceKernelsGuard naive;
    layer_norm(a, {17}, w).pow(2.0).sum().backward();
  }
  check_close(fast_a, a.grad(), 1e-10, 1e-8);
  check_close(fast_w, w.grad(), 1e-10, 1e-8);
  check_error([] { layer_norm(zeros({2, 3}), {4}); }, {"layer_norm", "(4,)", "(2, 3)"});
  check_error([] { layer_norm(zeros({2, 3}), {3}, zeros({4})); }, {"layer_norm", "weight", "(4,)"});
}
