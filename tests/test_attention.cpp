// scaled_dot_product_attention: the fused op (tiles, online softmax) against its composite twin
// (matmul, masked_softmax, matmul, each tested elsewhere) and against itself on the naive
// reference kernel, across tile edges, masks, strided inputs and both dtypes; gradcheck; rows
// that keep no key; errors.
#include <array>

#include "tests/helpers.hpp"

using namespace heed;
using namespace heed::testing;

namespace {

struct Case {
  int64_t B, H, L, S, d, e;
  bool causal;
  bool padded;  // left padding in key_keep, with one batch row keeping no key at all
};

// A (B, S) key mask: batch row b keeps keys from b * S / B on; with B >= 3 the last row keeps
// none (a fully masked row: zeros out, zeros in, never NaN).
Tensor left_padding(int64_t B, int64_t S) {
  std::vector<double> keep;
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t j = 0; j < S; ++j) {
      const bool none = B >= 3 && b == B - 1;
      keep.push_back(!none && j >= b * S / B ? 1.0 : 0.0);
    }
  }
  return tensor(keep, {B, S}).to(kBool);
}

}  // namespace

TEST_CASE("scaled_dot_product_attention: fused equals the composite and the reference") {
  // Sizes that cross the kernel's query tiles (64) and key tiles (128), causal with L < S (a
  // cached prefix), L = 1 (one decoding step), and a row that keeps no key.
  const std::array<Case, 9> cases{{{2, 3, 5, 5, 4, 4, false, false},
                                   {1, 2, 6, 3, 4, 1, true, false},  // L > S: causal rows see none
                                   {2, 1, 4, 6, 1, 2, false, true},  // d = 1
                                   {1, 2, 70, 70, 8, 6, true, false},
                                   {2, 1, 130, 150, 5, 7, true, false},
                                   {3, 2, 9, 140, 4, 4, false, true},
                                   {3, 2, 20, 33, 8, 8, true, true},
                                   {2, 2, 1, 17, 4, 3, true, true},
                                   {1, 1, 3, 0, 4, 4, false, false}}};
  for (DType dtype : {kFloat64, kFloat32}) {
    const double tolerance = dtype == kFloat64 ? 1e-11 : 2e-5;
    for (const Case& c : cases) {
      INFO("B H L S d e " << c.B << " " << c.H << " " << c.L << " " << c.S << " " << c.d << " "
                          << c.e << " causal " << c.causal << " padded " << c.padded << " "
                          << dtype_name(dtype));
      Generator generator(static_cast<uint64_t>(c.L * 31 + c.S));
      auto make = [&](const Shape& shape) {
        return (randn(shape, {kFloat64}, &generator) * 1.5).to(dtype).requires_grad_();
      };
      // q comes as heads split from (B, L, H, d), a strided view, as the attention layers pass it.
      const Tensor q_blhd = make({c.B, c.L, c.H, c.d});
      const Tensor k = make({c.B, c.H, c.S, c.d}), v = make({c.B, c.H, c.S, c.e});
      const Tensor upstream = randn({c.B, c.H, c.L, c.e}, {kFloat64}, &generator).to(dtype);
      AttentionMask mask{.causal = c.causal};
      if (c.padded) mask.key_keep = left_padding(c.B, c.S);
      auto run = [&](auto op) {
        q_blhd.zero_grad(), k.zero_grad(), v.zero_grad();
        const Tensor out = op(q_blhd.transpose(1, 2), k, v, mask, std::nullopt);  // (B, H, L, e)
        (out * upstream).sum().backward();
        std::vector<Tensor> results{out};
        for (const Tensor& x : {q_blhd, k, v}) {
          results.push_back(x.grad().defined() ? x.grad() : zeros_like(x));
        }
        return results;
      };
      check_fused(run, scaled_dot_product_attention, scaled_dot_product_attention_composite,
                  tolerance);
      const std::vector<Tensor> fused = run(scaled_dot_product_attention);
      for (const Tensor& t : fused) CHECK(all_finite(t));
      if (c.padded && c.B >= 3) {  // the last batch row keeps no key: zeros out, zero gradient
        CHECK(fused[0].select(0, c.B - 1).abs().max().item<double>() == 0.0);
        for (size_t i = 1; i < fused.size(); ++i) {
          CHECK(fused[i].select(0, c.B - 1).abs().max().item<double>() == 0.0);
        }
      }
    }
  }
}

TEST_CASE("scaled_dot_product_attention: gradients that arrive broadcast or expanded") {
  // mean over the queries sends the same gradient row to every query (a stride-0 view), and a
  // query broadcast over L is itself such a view: both must reach BLAS as real rows.
  const Tensor q_one = random64({2, 2, 1, 3}, 81).requires_grad_();
  const Tensor k = random64({2, 2, 5, 3}, 82).requires_grad_();
  const Tensor v = random64({2, 2, 5, 4}, 83).requires_grad_();
  auto run = [&](auto op) {
    q_one.zero_grad(), k.zero_grad(), v.zero_grad();
    const Tensor q = q_one.expand({2, 2, 6, 3});                     // (B, H, L, d), stride 0
    const Tensor out = op(q, k, v, {.causal = true}, std::nullopt);  // (B, H, 6, 4)
    out.mean({2}).sum().backward();
    return std::vector<Tensor>{out, q_one.grad(), k.grad(), v.grad()};
  };
  check_fused(run, scaled_dot_product_attention, scaled_dot_product_attention_composite, 1e-12);
}

TEST_CASE("scaled_dot_product_attention: gradcheck in float64 and float32") {
  const Tensor keep = tensor(std::vector<double>{1, 1, 1, 0, 1, 0, 1, 1}, {2, 4}).to(kBool);
  for (bool causal : {false, true}) {
    INFO("causal " << causal);
    const AttentionMask mask{.causal = causal, .key_keep = keep};
    check_gradients(
        [&](const std::vector<Tensor>& x) {
          return scaled_dot_product_attention(x[0], x[1], x[2], mask, 0.7);
        },
        {random64({2, 2, 3, 3}, 61), random64({2, 2, 4, 3}, 62), random64({2, 2, 4, 2}, 63)});
  }
  check_gradients(
      [](const std::vector<Tensor>& x) {
        return scaled_dot_product_attention(x[0], x[1], x[2], {.causal = true});
      },
      {random64({1, 2, 3, 4}, 64).to(kFloat32), random64({1, 2, 3, 4}, 65).to(kFloat32),
       random64({1, 2, 3, 2}, 66).to(kFloat32)},
      kFloat32Tolerance);
}

TEST_CASE("scaled_dot_product_attention: the default scale is 1/sqrt(d), and errors") {
  const Tensor q = random64({1, 1, 2, 4}, 71), k = random64({1, 1, 3, 4}, 72);
  const Tensor v = random64({1, 1, 3, 2}, 73);
  check_close(scaled_dot_product_attention(q, k, v), scaled_dot_product_attention(q, k, v, {}, 0.5),
              0, 0);
  check_error([&] { scaled_dot_product_attention(q, k, v.narrow(2, 0, 2)); },
              {"scaled_dot_product_attention", "(B, H, L, d)", "(1, 1, 2, 4)", "(1, 1, 2, 2)"});
  check_error([&] { scaled_dot_product_attention(q, k.narrow(3, 0, 3), v); },
              {"scaled_dot_product_attention", "(1, 1, 3, 3)"});
  check_error([&] { scaled_dot_product_attention(q.squeeze(0), k, v); },
              {"scaled_dot_product_attention", "(1, 2, 4)"});
  check_error([&] { scaled_dot_product_attention(q, k.to(kFloat32), v); },
              {"scaled_dot_product_attention", "one dtype"});
  check_error([&] { scaled_dot_product_attention(q.to(kInt64), k, v); },
              {"scaled_dot_product_attention", "float32 or float64"});
  check_error(
      [&] {
        scaled_dot_product_attention(q, k, v, {.key_keep = ones({1, 2})});
      },
      {"scaled_dot_product_attention", "key_keep", "(1, 3)", "(1, 2)"});
  check_error(
      [&] {
        scaled_dot_product_attention(q, k, v, {.key_keep = full({1, 3}, 2.0)});
      },
      {"scaled_dot_product_attention", "only 0 and 1", "2"});
  check_error(
      [&] { scaled_dot_product_attention(q, k, v, {}, std::numeric_limits<double>::infinity()); },
      {"scaled_dot_product_attention", "finite"});
}
