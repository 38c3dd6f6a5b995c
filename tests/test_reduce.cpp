// Reductions: values with and without keepdim, gradients, ties, errors.
#include "tests/helpers.hpp"

using namespace heed;
using namespace heed::testing;

TEST_CASE("sum, mean, amax, amin over dims with keepdim") {
  const Tensor x = tensor({{1, 5, 3}, {4, 2, 6}}, {kFloat64});
  check_values(x.sum(), {21});
  check_values(x.sum({0}), {5, 7, 9});
  check_values(x.sum({1}), {9, 12});
  CHECK(x.sum({1}, true).shape() == Shape{2, 1});
  CHECK(x.sum({0, 1}).dim() == 0);
  check_values(x.mean({-1}), {3, 4});
  check_values(x.amax({1}), {5, 6});
  check_values(x.amin({0}), {1, 2, 3});
  check_values(x.max(), {6});
  check_values(x.min(), {1});
  auto [values, indices] = x.max(1);
  check_values(values, {5, 6});
  check_values(indices, {1, 2});
  CHECK(indices.dtype() == kInt64);
  auto [low, where] = x.min(0, true);
  CHECK(low.shape() == Shape{1, 3});
  check_values(where, {0, 1, 0});
  check_values(x.argmax(0), {1, 0, 1});
  check_values(x.argmin(1), {0, 1});
  check_values(int_tensor({1, 2, 3}).sum(), {6});
  check_values(zeros({0, 3}).sum({0}), {0, 0, 0});
}

TEST_CASE("reduction gradients") {
  check_gradients([](const auto& in) { return in[0].sum({1}); }, {random64({3, 4}, 51)});
  check_gradients(
      [](const auto& in) {
        return in[0].sum({0, 2}, true);
      },
      {random64({2, 3, 4}, 52)});
  check_gradients([](const auto& in) { return in[0].mean({-1}); }, {random64({3, 4}, 53)});
  check_gradients([](const auto& in) { return in[0].amax({1}); }, {random64({3, 4}, 54)});
  check_gradients([](const auto& in) { return in[0].amin({0}, true); }, {random64({3, 4}, 55)});
  check_gradients([](const auto& in) { return in[0].max(1).first; }, {random64({3, 4}, 56)});
  check_gradients([](const auto& in) { return in[0].min(0, true).first; }, {random64({3, 4}, 57)});
  check_gradients([](const auto& in) { return in[0].sum({1}); },
                  {random64({3, 4}, 58).to(kFloat32)}, kFloat32Tolerance);
}

TEST_CASE("amax shares the gradient between ties; max(dim) gives it to the first") {
  Tensor x = tensor({{2, 2, 1}}, {kFloat64}).requires_grad_();
  x.amax({1}).sum().backward();
  check_values(x.grad(), {0.5, 0.5, 0});
  x.zero_grad();
  x.max(1).first.sum().backward();
  check_values(x.grad(), {1, 0, 0});
}

TEST_CASE("reduction errors") {
  check_error([] { zeros({2, 3}).sum({2}); }, {"sum", "dim 2"});
  check_error([] { zeros({2, 3}).sum({1, 1}); }, {"sum", "twice"});
  check_error([] { zeros({0, 3}).amax({0}); }, {"amax", "empty"});
  check_error([] { zeros({2}).to(kBool).sum(); }, {"sum", "bool"});
  check_error([] { int_tensor({1}).mean(); }, {"mean", "int64"});
}

TEST_CASE("all_finite finds NaN and inf anywhere, on views too, and ignores integer tensors") {
  CHECK(all_finite(tensor({1.0, -2.0, 3e38})));
  CHECK(all_finite(zeros({0})));
  CHECK(!all_finite(tensor({1.0, NAN})));
  CHECK(!all_finite(tensor({INFINITY, 1.0}, {kFloat64})));
  CHECK(!all_finite(tensor({1.0, -INFINITY}).expand({3, 2})));
  Tensor big = zeros({4, 5});
  big.select(0, 3).select(0, 4).fill_(NAN);
  CHECK(!all_finite(big.transpose(0, 1)));
  CHECK(all_finite(big.narrow(0, 0, 3)));
  CHECK(all_finite(int_tensor({1, 2})));
  check_error([] { all_finite(Tensor()); }, {"all_finite", "undefined"});
}
