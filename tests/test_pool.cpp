// max_pool2d and avg_pool2d: against pooling written out here, the fast max-pool kernel against
// the reference one, gradcheck, PyTorch's rules for ties, NaN and padding, and the errors.
#include <limits>

#include "tests/helpers.hpp"

using namespace heed;
using namespace heed::testing;

namespace {

// Pooling as its definition, in double: the max (padding never counts) or the mean (padding
// counts as zeros when count_include_pad) of each window.
Tensor direct_pool2d(const Tensor& x, Size2d k, Size2d s, Size2d p, Size2d d, bool max,
                     bool count_include_pad) {
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t bh = (H + 2 * p[0] - d[0] * (k[0] - 1) - 1) / s[0] + 1;
  const int64_t bw = (W + 2 * p[1] - d[1] * (k[1] - 1) - 1) / s[1] + 1;
  const std::vector<double> xv = x.to_vector<double>();
  std::vector<double> y;
  for (int64_t plane = 0; plane < N * C; ++plane)
    for (int64_t by = 0; by < bh; ++by)
      for (int64_t bx = 0; bx < bw; ++bx) {
        double best = -std::numeric_limits<double>::infinity(), sum = 0;
        int64_t inside = 0;
        for (int64_t i = 0; i < k[0]; ++i)
          for (int64_t j = 0; j < k[1]; ++j) {
            const int64_t yy = by * s[0] - p[0] + i * d[0], xx = bx * s[1] - p[1] + j * d[1];
            if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
            const double v = xv[(plane * H + yy) * W + xx];
            best = std::max(best, v);
            sum += v;
            ++inside;
          }
        y.push_back(max ? best : sum / double(count_include_pad ? k[0] * k[1] : inside));
      }
  return tensor(y, {N, C, bh, bw}, {kFloat64});
}

}  // namespace

TEST_CASE("max_pool2d and avg_pool2d match pooling written out, on both kernel sets") {
  const Tensor x = random64({2, 3, 9, 8}, 700);
  for (bool naive : {false, true}) {
    INFO("reference kernels " << naive);
    std::optional<ReferenceKernelsGuard> guard;
    if (naive) guard.emplace();
    check_close(max_pool2d(x, {2, 2}), direct_pool2d(x, {2, 2}, {2, 2}, {0, 0}, {1, 1}, true, true),
                0, 0);
    check_close(max_pool2d(x, {3, 2}, {.stride = {2, 1}, .padding = {1, 1}, .dilation = {2, 3}}),
                direct_pool2d(x, {3, 2}, {2, 1}, {1, 1}, {2, 3}, true, true), 0, 0);
    check_close(avg_pool2d(x, {3, 3}, {.stride = {2, 2}, .padding = {1, 1}}),
                direct_pool2d(x, {3, 3}, {2, 2}, {1, 1}, {1, 1}, false, true), 1e-12, 1e-12);
    check_close(avg_pool2d(x, {3, 2}, {.padding = {1, 1}, .count_include_pad = false}),
                direct_pool2d(x, {3, 2}, {3, 2}, {1, 1}, {1, 1}, false, false), 1e-12, 1e-12);
  }
  const Tensor unbatched = random64({3, 4, 4}, 701);
  CHECK(max_pool2d(unbatched, {2, 2}).shape() == Shape{3, 2, 2});
  CHECK(avg_pool2d(unbatched.to(kFloat32), {2, 2}).dtype() == kFloat32);
}

TEST_CASE("max_pool2d sends the gradient to the first of equal maxima; a NaN wins, as PyTorch") {
  Tensor x = tensor({1.0, 5.0, 5.0, 2.0}, {1, 1, 2, 2}, {kFloat64}).requires_grad_();
  const Tensor y = max_pool2d(x, {2, 2});
  check_values(y, {5.0});
  y.sum().backward();
  check_values(x.grad(), {0, 1, 0, 0});
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor with_nan = tensor({1.0, nan, 7.0, 2.0}, {1, 1, 2, 2}, {kFloat64});
  for (bool naive : {false, true}) {
    std::optional<ReferenceKernelsGuard> guard;
    if (naive) guard.emplace();
    CHECK(std::isnan(max_pool2d(with_nan, {2, 2}).item<double>()));
  }
}

TEST_CASE("max_pool2d: the fast kernel matches the reference one on larger, padded inputs") {
  for (DType dtype : {kFloat32, kFloat64}) {
    Tensor x = random64({3, 4, 17, 15}, 710).to(dtype).requires_grad_();
    const MaxPool2dOptions options{.stride = {2, 3}, .padding = {1, 2}, .dilation = {2, 1}};
    const Tensor fast = max_pool2d(x, {3, 4}, options);
    fast.sum().backward();
    const Tensor fast_grad = x.grad();
    x.zero_grad();
    ReferenceKernelsGuard naive;
    const Tensor reference = max_pool2d(x, {3, 4}, options);
    reference.sum().backward();
    check_close(fast, reference, 0, 0);
    check_close(fast_grad, x.grad(), 0, 0);
  }
}

TEST_CASE("max_pool2d and avg_pool2d pass gradcheck") {
  // distinct values, so no two taps tie and the max is differentiable where the check probes
  check_gradients(
      [](const auto& in) {
        return max_pool2d(in[0], {2, 3}, {.padding = {1, 1}});
      },
      {random64({2, 2, 5, 6}, 720)});
  check_gradients(
      [](const auto& in) {
        return max_pool2d(in[0], {3, 3}, {.stride = {1, 2}, .dilation = {2, 1}});
      },
      {random64({1, 2, 7, 7}, 721)});
  check_gradients(
      [](const auto& in) {
        return avg_pool2d(in[0], {3, 2}, {.stride = {2, 1}, .padding = {1, 1}});
      },
      {random64({2, 2, 5, 6}, 722)});
  check_gradients(
      [](const auto& in) {
        return avg_pool2d(in[0], {2, 2}, {.padding = {1, 1}, .count_include_pad = false});
      },
      {random64({1, 3, 4, 5}, 723)});
  check_gradients(
      [](const auto& in) {
        return max_pool2d(in[0], {2, 2});
      },
      {random64({1, 2, 4, 4}, 724).to(kFloat32)}, kFloat32Tolerance);
}

TEST_CASE("pooling refuses bad shapes and options, naming what it expected") {
  const Tensor x = zeros({1, 2, 6, 6});
  check_error([&] { max_pool2d(zeros({6, 6}), {2, 2}); }, {"max_pool2d", "(N, C, H, W)", "(6, 6)"});
  check_error(
      [&] {
        max_pool2d(x, {2, 2}, {.padding = {2, 0}});
      },
      {"max_pool2d", "at most half", "padding 2", "kernel of 2", "height"});
  check_error([&] { avg_pool2d(x, {2, 2}, {.stride = {1, 0}}); }, {"avg_pool2d", "stride 0"});
  check_error([&] { max_pool2d(x, {7, 2}); }, {"max_pool2d", "height 6", "extent 7"});
  check_error(
      [&] {
        max_pool2d(zeros({1, 1, 2, 2}), {2, 2}, {.padding = {1, 1}, .dilation = {3, 1}});
      },
      {"max_pool2d", "covers only padding"});
  check_error(
      [&] {
        avg_pool2d(int_tensor({1, 2, 3, 4}, {1, 1, 2, 2}), {2, 2});
      },
      {"avg_pool2d", "float32 or float64"});
}

TEST_CASE("max_pool2d: a window of 2^41 taps over one pixel is worked out, not walked tap by tap") {
  const Tensor x = tensor({3.5}, {kFloat64}).reshape({1, 1, 1, 1});
  const int64_t huge = int64_t{1} << 41;
  check_values(max_pool2d(x, {huge, 1}, {.padding = {huge / 2, 0}}), {3.5});
}
