// The code shown in README.md and docs/autograd.md, compiled and run here so that it stays
// true (tests/test_docs.cpp checks that the docs still match these lines).
#include <filesystem>

#include "engine/heed.hpp"
#include "nn/nn.hpp"
#include "tests/helpers.hpp"

using namespace heed;
using namespace heed::testing;

TEST_CASE("README: a first look at masked softmax and autograd") {
  heed::Tensor scores = heed::randn({2, 3, 4}).requires_grad_();  // (B, Q, K)
  heed::Tensor weights = heed::masked_softmax(scores, {.valid_lens = heed::int_tensor({2, 3})});
  weights.sum({-1}).mean().backward();  // scores.grad(): (B, Q, K)
  // Each row of weights sums to 1 whatever the scores, so the gradient is zero everywhere.
  CHECK(scores.grad().abs().amax().item() < 1e-6);
  CHECK(weights.at({0, 0, 2}) == 0.0);  // beyond sentence 0's 2 valid keys
}

TEST_CASE("README: layers with PyTorch's names") {
  const auto saved_directory = std::filesystem::current_path();
  std::filesystem::current_path(std::filesystem::temp_directory_path());
  heed::nn::GRU encoder(32, 64, {.num_layers = 2, .bidirectional = true});
  heed::nn::AdditiveAttention attention(/*key_size=*/128, /*query_size=*/64, /*num_hiddens=*/64);
  auto [outputs, h_n] = encoder(heed::randn({10, 4, 32}));    // (T, B, 2H), (L*D, B, H)
  heed::nn::save_checkpoint("encoder.safetensors", encoder);  // loads in PyTorch too
  CHECK(outputs.shape() == Shape{10, 4, 128});
  CHECK(h_n.shape() == Shape{4, 4, 64});
  const Tensor context = attention(h_n.select(0, 3).unsqueeze(1), outputs.transpose(0, 1),
                                   outputs.transpose(0, 1));  // (B, 1, 2H)
  CHECK(context.shape() == Shape{4, 1, 128});
  std::filesystem::remove("encoder.safetensors");
  std::filesystem::current_path(saved_directory);
}

TEST_CASE("docs/autograd.md: the tiny graph") {
  Tensor a = tensor({2.0}).requires_grad_();
  Tensor b = tensor({3.0}).requires_grad_();
  Tensor c = a * b;    // node "mul",  inputs (a, b)
  Tensor d = c + a;    // node "add",  inputs (c, a)
  Tensor e = tanh(d);  // node "tanh", inputs (d)
  e.backward();
  // de/dd = 1 - tanh(8)^2; a is used twice: de/da = de/dd * (b + 1), de/db = de/dd * a
  const double dd = 1.0 - std::tanh(8.0) * std::tanh(8.0);
  CHECK(a.grad().item() == doctest::Approx(dd * 4.0));
  CHECK(b.grad().item() == doctest::Approx(dd * 2.0));
}
