// softmax, log_softmax and masked_softmax: d2l's valid_lens semantics, 0/1 masks, causal masks,
// their combinations, fully masked rows, gradients, fast vs reference kernels, errors.
#include <limits>

#include "engine/cpu/row_reductions.hpp"
#include "tests/helpers.hpp"

using namespace heed;
using namespace heed::testing;

namespace {

// The plain softmax of the first `n` entries of a row, zeros after: what d2l expects.
std::vector<double> prefix_softmax(const std::vector<double>& row, size_t n) {
  std::vector<double> out(row.size(), 0.0);
  double peak = -INFINITY, total = 0;
  for (size_t j = 0; j < n; ++j) peak = std::max(peak, row[j]);
  for (size_t j = 0; j < n; ++j) total += std::exp(row[j] - peak);
  for (size_t j = 0; j < n; ++j) out[j] = std::exp(row[j] - peak) / total;
  return out;
}

// Checks every row of y (rows of K) against prefix_softmax with the given lengths.
void check_prefix_rows(const Tensor& x, const Tensor& y, const std::vector<size_t>& lengths) {
  const int64_t keys = x.size(-1);
  const std::vector<double> xs = x.to_vector<double>(), ys = y.to_vector<double>();
  for (size_t r = 0; r < lengths.size(); ++r) {
    const std::vector<double> row(xs.begin() + static_cast<long>(r * keys),
                                  xs.begin() + static_cast<long>((r + 1) * keys));
    const std::vector<double> expected = prefix_softmax(row, lengths[r]);
    for (size_t j = 0; j < expected.size(); ++j) {
      CHECK_MESSAGE(std::abs(ys[r * keys + j] - expected[j]) < 1e-6, "row " << r << " key " << j);
    }
  }
}

}  // namespace

TEST_CASE("softmax and log_softmax along any dim") {
  const Tensor x = tensor({{1, 2, 3}, {1, 1, 1}}, {kFloat64});
  check_prefix_rows(x, softmax(x, -1), {3, 3});
  check_close(log_softmax(x, 1).exp(), softmax(x, 1), 1e-12, 1e-12);
  check_close(softmax(x, 0), softmax(x.t(), 1).t(), 1e-12, 1e-12);
  check_values(softmax(x, 0).sum({0}), {1, 1, 1}, 1e-12);
  // large logits do not overflow
  check_values(softmax(tensor({1000.0, 1000.0}, {kFloat64}), 0), {0.5, 0.5});
  check_gradients([](const auto& in) { return softmax(in[0], 1); }, {random64({3, 5}, 91)});
  check_gradients([](const auto& in) { return softmax(in[0], 0); }, {random64({3, 5}, 92)});
  check_gradients([](const auto& in) { return log_softmax(in[0], -1); }, {random64({3, 5}, 93)});
  check_gradients([](const auto& in) { return log_softmax(in[0], -1); },
                  {random64({3, 5}, 94).to(kFloat32)}, kFloat32Tolerance);
}

TEST_CASE("masked_softmax with valid_lens of shape (B,): d2l's example") {
  Generator g(5);
  const Tensor x = rand({2, 2, 4}, {kFloat64}, &g);
  const Tensor y = masked_softmax(x, {.valid_lens = int_tensor({2, 3})});
  check_prefix_rows(x, y, {2, 2, 3, 3});
  CHECK(y.at({0, 1, 2}) == 0.0);
  CHECK(y.at({1, 0, 3}) == 0.0);
}

TEST_CASE("masked_softmax with valid_lens of shape (B, Q): one length per query row") {
  Generator g(6);
  const Tensor x = rand({2, 2, 4}, {kFloat64}, &g);
  const Tensor y = masked_softmax(x, {.valid_lens = int_tensor({1, 3, 2, 4}, {2, 2})});
  check_prefix_rows(x, y, {1, 3, 2, 4});
}

TEST_CASE("masked_softmax with a 0/1 keep mask: a left-padded batch") {
  // Two sequences of 4 positions; the first has 2 pads on the left.
  const Tensor attention_mask = int_tensor({0, 0, 1, 1, 1, 1, 1, 1}, {2, 1, 4});  // (B, 1, K)
  Generator g(7);
  const Tensor x = randn({2, 3, 4}, {kFloat64}, &g);
  const Tensor y = masked_softmax(x, {.keep_mask = attention_mask});
  for (int64_t q = 0; q < 3; ++q) {
    CHECK(y.at({0, q, 0}) == 0.0);
    CHECK(y.at({0, q, 1}) == 0.0);
    const double expected =
        std::exp(x.at({0, q, 2})) / (std::exp(x.at({0, q, 2})) + std::exp(x.at({0, q, 3})));
    CHECK(y.at({0, q, 2}) == doctest::Approx(expected).epsilon(1e-12));
  }
  check_close(y.select(0, 1), softmax(x.select(0, 1), -1), 1e-12, 1e-12);
  // a bool mask gives the same
  check_close(masked_softmax(x, {.keep_mask = attention_mask.to(kBool)}), y, 0, 0);
}

TEST_CASE("causal masks, alone and combined") {
  Generator g(8);
  const Tensor x = randn({2, 4, 4}, {kFloat64}, &g);
  const Tensor y = masked_softmax(x, {.causal = true});
  check_prefix_rows(x, y, {1, 2, 3, 4, 1, 2, 3, 4});
  // causal with valid_lens: the tighter limit wins
  check_prefix_rows(x, masked_softmax(x, {.valid_lens = int_tensor({2, 4}), .causal = true}),
                    {1, 2, 2, 2, 1, 2, 3, 4});
  // causal with fewer queries than keys is aligned to the last key (cached decoding)
  const Tensor last = x.narrow(1, 3, 1);  // (2, 1, 4): the newest query sees every key
  check_close(masked_softmax(last, {.causal = true}), softmax(last, -1), 1e-12, 1e-12);
  // causal with a keep mask: left padding and causality together
  const Tensor keep = int_tensor({0, 1, 1, 1, 1, 1, 1, 1}, {2, 1, 4});
  const Tensor both = masked_softmax(x, {.keep_mask = keep, .causal = true});
  CHECK(both.at({0, 0, 0}) == 0.0);  // query 0 may only see key 0, which is padding
  CHECK(both.at({0, 0, 1}) == 0.0);
  check_prefix_rows(x.narrow(0, 1, 1), both.narrow(0, 1, 1), {1, 2, 3, 4});
}

TEST_CASE("fully masked rows are all zeros with zero gradient, never NaN") {
  Tensor x = random64({2, 2, 3}, 95).requires_grad_();
  const Tensor y = masked_softmax(x, {.valid_lens = int_tensor({0, 2})});
  for (double v : y.select(0, 0).to_vector<double>()) CHECK(v == 0.0);
  (y * random64({2, 2, 3}, 96)).sum().backward();
  for (double v : x.grad().select(0, 0).to_vector<double>()) CHECK(v == 0.0);
  for (double v : x.grad().to_vector<double>()) CHECK(std::isfinite(v));
  const Tensor none_kept = masked_softmax(random64({1, 4}, 97), {.keep_mask = zeros({1, 4})});
  for (double v : none_kept.to_vector<double>()) CHECK(v == 0.0);
  // -inf scores in masked positions do not leak NaN either
  const Tensor with_inf = tensor({{-INFINITY, 1.0, 2.0}}, {kFloat64});
  check_values(masked_softmax(with_inf, {.keep_mask = int_tensor({0, 1, 1})}),
               {0, 1 / (1 + std::exp(1.0)), 1 / (1 + std::exp(-1.0))});
}

TEST_CASE("masked_softmax gradients match central differences; masked entries get none") {
  const Tensor lengths = int_tensor({1, 3, 2, 4}, {2, 2});
  const Tensor keep = int_tensor({1, 0, 1, 1}, {1, 1, 4});
  check_gradients([&](const auto& in) { return masked_softmax(in[0], {.valid_lens = lengths}); },
                  {random64({2, 2, 4}, 98)});
  check_gradients([&](const auto& in) { return masked_softmax(in[0], {.keep_mask = keep}); },
                  {random64({2, 2, 4}, 99)});
  check_gradients([&](const auto& in) { return masked_softmax(in[0], {.causal = true}); },
                  {random64({2, 3, 3}, 100)});
  check_gradients(
      [&](const auto& in) {
        return masked_softmax(in[0], {.valid_lens = int_tensor({2, 3}), .causal = true});
      },
      {random64({2, 3, 4}, 101).to(kFloat32)}, kFloat32Tolerance);
  Tensor x = random64({1, 1, 4}, 102).requires_grad_();
  masked_softmax(x, {.valid_lens = int_tensor({2})}).pow(2.0).sum().backward();
  CHECK(x.grad().at({0, 0, 2}) == 0.0);
  CHECK(x.grad().at({0, 0, 3}) == 0.0);
}

TEST_CASE("fast masked softmax matches the serial reference on odd shapes and strides") {
  for (DType dtype : {kFloat32, kFloat64}) {
    for (int64_t k : {1, 3, 17, 65, 300}) {
      const Tensor x = (random64({3, 5, k}, static_cast<uint64_t>(k)) * 4.0).to(dtype);
      const Tensor strided =
          (random64({3, k, 5}, static_cast<uint64_t>(k + 1)) * 4.0).to(dtype).transpose(1, 2);
      std::vector<int64_t> lengths;
      for (int64_t i = 0; i < 15; ++i) lengths.push_back((i * 7) % (k + 1));
      const Tensor valid = int_tensor(lengths, {3, 5});
      Generator g(static_cast<uint64_t>(k));
      const Tensor keep = rand({3, 1, k}, {kFloat64}, &g);
      const Tensor keep_mask = gt(keep, scalar_like(keep, 0.3));
      const std::vector<SoftmaxMask> masks = {
          SoftmaxMask{}, SoftmaxMask{.valid_lens = valid},
          SoftmaxMask{.keep_mask = keep_mask, .causal = true},
          SoftmaxMask{.valid_lens = valid, .keep_mask = keep_mask}};
      for (const Tensor& input : {x, strided}) {
        for (const SoftmaxMask& mask : masks) {
          const Tensor leaf = input.detach().requires_grad_();
          const Tensor upstream = random64(input.shape(), 5).to(dtype);
          const Tensor fast = masked_softmax(leaf, mask);
          (fast * upstream).sum().backward();
          const Tensor fast_grad = leaf.grad();
          leaf.zero_grad();
          Tensor reference;
          {
            ReferenceKernelsGuard naive;
            reference = masked_softmax(leaf, mask);
            (reference * upstream).sum().backward();
          }
          const double tolerance = dtype == kFloat32 ? 1e-6 : 1e-14;
          check_close(fast, reference, tolerance, 1e-5);
          check_close(fast_grad, leaf.grad(), tolerance * 10, 1e-4);
        }
      }
    }
  }
}

TEST_CASE("the row max the fast kernels shift by finds the largest entry at every position") {
  // Softmax does not move when the shift does, so a wrong max shows only as overflow or
  // underflow: checked directly, for the float version (eight lanes in one vector) and the
  // generic one, from an aligned start and from one float past it.
  for (int64_t n = 0; n <= 40; ++n) {
    for (int64_t at = 0; at < n; ++at) {
      std::vector<float> row(static_cast<size_t>(n));
      for (int64_t j = 0; j < n; ++j) row[static_cast<size_t>(j)] = float(-100 + (j * 37) % 23);
      row[static_cast<size_t>(at)] = 5.0f;
      CHECK(cpu::row_max(row.data(), n) == 5.0f);
      if (at > 0) CHECK(cpu::row_max(row.data() + 1, n - 1) == 5.0f);
      const std::vector<double> wide(row.begin(), row.end());
      CHECK(cpu::row_max(wide.data(), n) == 5.0);
    }
  }
  const float none = -std::numeric_limits<float>::infinity();
  CHECK(cpu::row_max(static_cast<const float*>(nullptr), 0) == none);
  const std::vector<float> all_masked(19, none);
  CHECK(cpu::row_max(all_masked.data(), 19) == none);
  // and through the kernel: logits near float's top, where a wrong shift overflows exp
  const Tensor big = tensor({88.0, 87.0, 86.0, 85.0, 84.0, 83.0, 82.0, 81.0, 89.0}, {kFloat32});
  check_close(softmax(big, 0), softmax(big.to(kFloat64), 0).to(kFloat32), 1e-6, 1e-6);
}

TEST_CASE("the float32 exp used by the fast kernel is accurate over the whole range") {
  // softmax of (0, t) is 1 / (1 + exp(-t)): a direct probe of exp(-t) through the kernel.
  for (double step = -80; step <= 80; step += 0.37) {
    const double t = static_cast<float>(step);  // the value the float32 kernel actually sees
    const double expected = 1.0 / (1.0 + std::exp(-t));
    const double got = softmax(tensor({0.0, t}, {kFloat32}), 0).at({1});
    CHECK_MESSAGE(std::abs(got - expected) <= 1e-6 * expected + 1e-30, "t = " << t);
  }
}

TEST_CASE("masked_softmax errors say what was expected") {
  const Tensor x = zeros({2, 2, 4});
  check_error(
      [&] {
        masked_softmax(x, {.valid_lens = int_tensor({2, 5})});
      },
      {"masked_softmax", "valid length 5", "4 keys"});
  check_error([&] { masked_softmax(x, {.valid_lens = int_tensor({-1, 2})}); }, {"valid length -1"});
  check_error(
      [&] {
        masked_softmax(x, {.valid_lens = int_tensor({1, 2, 3})});
      },
      {"valid_lens of shape (3,)", "(2, 2, 4)"});
  check_error(
      [&] {
        masked_softmax(x, {.valid_lens = tensor({1, 2})});
      },
      {"valid_lens", "int64", "float32"});
  check_error(
      [&] {
        masked_softmax(x, {.keep_mask = int_tensor({1, 0, 1})});
      },
      {"keep_mask", "(3,)", "(2, 2, 4)"});
  check_error(
      [&] {
        masked_softmax(x, {.keep_mask = int_tensor({2, 3}, {2, 1, 1})});
      },
      {"only 0 and 1", "valid_lens"});
  check_error([] { softmax(zeros({2, 3}), 2); }, {"softmax", "dim 2"});
  check_error([] { softmax(int_tensor({1, 2}), 0); }, {"softmax", "int64"});
}
