// The code shown in README.md, docs/autograd.md and docs/tour.md, compiled and run here so that it
// stays true (tests/test_docs.cpp checks that the docs still match these lines).
#include <filesystem>

#include "engine/heed.hpp"
#include "examples/bahdanau/model.hpp"
#include "examples/bahdanau/train.hpp"
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

TEST_CASE("docs/tour.md: from the loss of examples/bahdanau to an attention weight's gradient") {
  manual_seed(0);
  bahdanau::Seq2Seq model({.source_vocab = 12, .target_vocab = 9, .dropout = 0.0});
  const int64_t T = 5;
  const Tensor X = randint(0, 12, {3, T}), Y = randint(0, 9, {3, T});             // (B, T)
  const Tensor X_valid = int_tensor({5, 3, 4}), Y_valid = int_tensor({4, 5, 2});  // (B,)
  const Tensor decoder_inputs = cat({zeros({3, 1}, {kInt64}), Y.narrow(1, 0, T - 1)}, 1);
  // As examples/bahdanau/train.cpp does it:
  const Tensor logits = model.forward(X, decoder_inputs, X_valid);     // (B, T, V)
  const Tensor loss = nn::sequence_cross_entropy(logits, Y, Y_valid);  // per valid token
  bahdanau::training_objective(loss, Y_valid, T, "d2l").backward();
  // Step 7 of the tour: the additive attention's query projection, a leaf, holds its gradient.
  const auto& attention = dynamic_cast<nn::AdditiveAttention&>(*model.decoder->attention);
  const Tensor dW_q = attention.W_q->weight.grad();  // (H, hidden): what Adam reads
  REQUIRE(dW_q.defined());
  CHECK(dW_q.shape() == attention.W_q->weight.shape());
  CHECK(dW_q.abs().amax().item() > 0);
}
