// nn beyond the PyTorch values: module bookkeeping, state_dict errors, bad input to every module,
// the key/value cache, masking corner cases, initialisation, schedules.
#include "nn/nn.hpp"
#include "tests/helpers.hpp"

using namespace heed;
using namespace heed::testing;

namespace {

// A small model with nesting, for names and state_dict tests.
class TinyTranslator : public nn::Module {
 public:
  TinyTranslator() : nn::Module("TinyTranslator") {
    embedding = register_module("embedding", std::make_shared<nn::Embedding>(10, 4, 0));
    rnn = register_module("rnn",
                          std::make_shared<nn::GRU>(4, 6, nn::RecurrentOptions{.num_layers = 2}));
    head = register_module("head", std::make_shared<nn::Linear>(6, 10));
  }
  std::shared_ptr<nn::Embedding> embedding;
  std::shared_ptr<nn::GRU> rnn;
  std::shared_ptr<nn::Linear> head;
};

}  // namespace

TEST_CASE("modules name their parameters with dots, count them and print like PyTorch") {
  TinyTranslator model;
  std::vector<std::string> names;
  for (auto& [name, p] : model.named_parameters()) names.push_back(name);
  const std::vector<std::string> expected{
      "embedding.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0",
      "rnn.bias_hh_l0",   "rnn.weight_ih_l1", "rnn.weight_hh_l1", "rnn.bias_ih_l1",
      "rnn.bias_hh_l1",   "head.weight",      "head.bias"};
  CHECK(names == expected);
  // 10*4 + (18*4 + 18*6 + 18 + 18) + (18*6 + 18*6 + 18 + 18) + 6*10 + 10
  CHECK(model.num_parameters() == 40 + 216 + 252 + 70);
  const std::string text = model.repr();
  CHECK(text.find("(embedding): Embedding(10, 4, padding_idx=0)") != std::string::npos);
  CHECK(text.find("(rnn): GRU(4, 6, num_layers=2)") != std::string::npos);
  CHECK(text.find("(head): Linear(in_features=6, out_features=10, bias=True)") !=
        std::string::npos);

  model.eval();
  CHECK(!model.rnn->is_training());
  model.train();
  CHECK(model.head->is_training());
}

TEST_CASE("state_dict round-trips and load_state_dict names every mismatch") {
  TinyTranslator a, b;
  b.load_state_dict(a.state_dict());
  check_close(b.head->weight, a.head->weight, 0, 0);

  nn::StateDict broken = a.state_dict();
  broken.erase("rnn.bias_hh_l1");
  broken.emplace("rnn.extra", zeros({2}));
  broken["head.weight"] = zeros({3, 3});
  check_error([&] { b.load_state_dict(broken); }, {"missing rnn.bias_hh_l1", "unexpected rnn.extra",
                                                   "head.weight (expected (10, 6), found (3, 3))"});
  broken["head.weight"] = zeros({10, 6});
  b.load_state_dict(broken, /*strict=*/false);  // extra and missing entries allowed
  CHECK(b.head->weight.abs().sum().item() == 0);
}

TEST_CASE("to(dtype) converts in place, keeping every handle valid") {
  TinyTranslator model;
  const Tensor handle = model.head->weight;
  model.to(kFloat64);
  CHECK(handle.dtype() == kFloat64);
  CHECK(model.rnn->parameters()[0].dtype() == kFloat64);
  CHECK(handle.requires_grad());
  const Tensor logits = model.head->forward(ones({2, 6}, {kFloat64}));
  CHECK(logits.dtype() == kFloat64);
}

TEST_CASE("zero_grad clears every parameter's gradient") {
  TinyTranslator model;
  const Tensor ids = int_tensor({1, 2, 3, 0}, {4, 1});
  auto [outputs, h] = model.rnn->forward(model.embedding->forward(ids));
  model.head->forward(outputs).sum().backward();
  for (const Tensor& p : model.parameters()) CHECK(p.grad().defined());
  model.zero_grad();
  for (const Tensor& p : model.parameters()) CHECK(!p.grad().defined());
}

TEST_CASE("default initialisation draws from PyTorch's distributions") {
  manual_seed(7);
  nn::Linear linear(400, 300);
  const double bound = 1.0 / std::sqrt(400.0);
  CHECK(linear.weight.abs().max().item() <= bound);
  CHECK(linear.weight.abs().max().item() > 0.95 * bound);
  CHECK(std::abs(linear.weight.mean().item()) < 0.01 * bound);
  nn::Embedding embedding(1000, 64);
  const Tensor w = embedding.weight;
  CHECK(std::abs(w.mean().item()) < 0.01);
  CHECK(std::abs((w * w).mean().item() - 1.0) < 0.02);  // N(0, 1)
  nn::GRU gru(10, 25);
  for (const Tensor& p : gru.parameters()) CHECK(p.abs().max().item() <= 1.0 / 5.0);
  nn::LayerNorm norm({5});
  check_values(norm.weight, {1, 1, 1, 1, 1});
  check_values(norm.bias, {0, 0, 0, 0, 0});
}

TEST_CASE("wrong shapes into every module are clear errors") {
  nn::Linear linear(4, 3);
  check_error([&] { linear(ones({2, 5})); }, {"Linear", "(..., 4)", "(2, 5)"});
  nn::Embedding embedding(5, 2);
  check_error([&] { embedding(int_tensor({1, 5})); }, {"embedding", "token id 5", "5 rows"});
  check_error([&] { embedding(ones({2})); }, {"embedding", "int64"});
  nn::GRU gru(4, 3, {.num_layers = 2});
  check_error([&] { gru(ones({5, 2, 3})); }, {"GRU", "(T, B, 4)", "(5, 2, 3)"});
  check_error([&] { gru(ones({5, 2, 4}), ones({1, 2, 3})); }, {"GRU", "(2, 2, 3)", "(1, 2, 3)"});
  nn::LSTM lstm(4, 3);
  check_error([&] { lstm(ones({5, 2, 4}), {ones({1, 2, 3}), {}}); }, {"LSTM", "h0 and c0"});
  nn::GRUCell cell(4, 3);
  check_error([&] { cell(ones({2, 4}), ones({3, 3})); }, {"GRUCell", "(2, 3)", "(3, 3)"});
  nn::AdditiveAttention additive(3, 5, 7);
  check_error(
      [&] {
        additive(ones({2, 4, 5}), ones({2, 6, 3}), ones({2, 5, 2}));
      },
      {"AdditiveAttention", "values (B, K, v)"});
  check_error(
      [&] {
        additive(ones({2, 4, 5}), ones({2, 6, 3}), ones({2, 6, 2}),
                 {.valid_lens = int_tensor({7, 1})});
      },
      {"masked_softmax", "7"});
  nn::DotProductAttention dot;
  check_error(
      [&] {
        dot(ones({2, 4, 5}), ones({2, 6, 3}), ones({2, 6, 2}));
      },
      {"DotProductAttention", "(2, 4, 5)", "(2, 6, 3)"});
  check_error([] { nn::LuongAttention(nn::LuongScore::Dot, 4, 3); }, {"LuongAttention", "4 and 3"});
  check_error([] { nn::MultiHeadAttention(10, 3); }, {"MultiHeadAttention", "10 and 3"});
  nn::MultiHeadAttention mha(8, 2);
  check_error(
      [&] {
        mha.self_attention(ones({2, 3, 6}));
      },
      {"MultiHeadAttention", "(B, T, 8)", "(2, 3, 6)"});
  check_error(
      [&] {
        mha.self_attention(ones({2, 3, 8}), {.key_padding_mask = ones({2, 4})});
      },
      {"key_padding_mask", "(2, 3)", "(2, 4)"});
  nn::SinusoidalPositionalEncoding positions(8, 0.0, 16);
  check_error([&] { positions.forward(ones({1, 4, 8}), 14); }, {"positions 14..17", "[0, 16)"});
  check_error([] { nn::Dropout(1.0); }, {"Dropout", "0 <= p < 1", "1"});
  check_error(
      [] {
        nn::cross_entropy(ones({2, 3}), int_tensor({0, 1}), {.label_smoothing = 2.0});
      },
      {"label_smoothing", "[0, 1]"});
  check_error(
      [] {
        nn::sequence_cross_entropy(ones({2, 3, 4}), int_tensor({0, 1}), int_tensor({1, 1}));
      },
      {"sequence_cross_entropy", "(B, T)"});
  check_error([] { nn::mse_loss(ones({2}), ones({3})); }, {"mse_loss", "(2,)", "(3,)"});
}

TEST_CASE("optimizer and schedule arguments are checked") {
  nn::Linear linear(2, 2);
  check_error([&] { nn::SGD({{linear.parameters(), -1.0}}); }, {"lr must be >= 0", "-1"});
  check_error([&] { nn::SGD({{linear.parameters(), 0.1}}, {.nesterov = true}); }, {"Nesterov"});
  check_error(
      [&] {
        nn::Adam({{linear.parameters(), 0.1}}, {.beta1 = 1.0});
      },
      {"betas", "(1, 0.999)"});
  check_error([] { nn::SGD({{{}, 0.1}}); }, {"no parameters"});
  check_error([&] { nn::SGD({{{ones({2})}, 0.1}}); }, {"leaf tensor that requires grad"});
  check_error([] { nn::warmup_cosine_lr(10, 5); }, {"warmup_steps <= total_steps"});
}

TEST_CASE("learning-rate schedules give the documented factors") {
  const nn::LRFactor warm = nn::warmup_cosine_lr(4, 14, 0.1);
  CHECK(warm(0) == doctest::Approx(0.25));
  CHECK(warm(3) == doctest::Approx(1.0));
  CHECK(warm(4) == doctest::Approx(1.0));
  CHECK(warm(9) == doctest::Approx(0.1 + 0.9 * 0.5));  // halfway: cos(pi/2) = 0
  CHECK(warm(14) == doctest::Approx(0.1));
  CHECK(warm(100) == doctest::Approx(0.1));
  const nn::LRFactor stepped = nn::step_lr(3, 0.5);
  CHECK(stepped(2) == 1.0);
  CHECK(stepped(3) == 0.5);
  CHECK(stepped(7) == 0.25);

  nn::Linear linear(2, 2);
  nn::AdamW optimizer(nn::decay_and_no_decay_groups(linear, 0.01, 0.1));
  REQUIRE(optimizer.param_groups().size() == 2);
  CHECK(optimizer.param_groups()[0].weight_decay == 0.1);  // the weight matrix
  CHECK(optimizer.param_groups()[1].weight_decay == 0.0);  // the bias
  nn::LRScheduler scheduler(optimizer, nn::warmup_cosine_lr(4, 14, 0.1));
  CHECK(scheduler.lr() == doctest::Approx(0.0025));
  for (int i = 0; i < 4; ++i) scheduler.step();
  CHECK(scheduler.lr(1) == doctest::Approx(0.01));
}

TEST_CASE("incremental multi-head attention with a KV cache equals the full recomputation") {
  manual_seed(3);
  nn::MultiHeadAttention mha(8, 2, 0.0, true, kFloat64);
  const Tensor x = randn({3, 7, 8}, {kFloat64});
  // Left-padded batch: row 1 has 2 pads, row 2 has 4.
  const Tensor keep =
      tensor({1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1}, {kFloat64})
          .reshape({3, 7});
  NoGradGuard no_grad;
  const Tensor full = mha.self_attention(x, {.key_padding_mask = keep, .is_causal = true});
  nn::KVCache cache;
  std::vector<Tensor> pieces;
  // A prompt of 4 positions, then one position at a time.
  pieces.push_back(mha.self_attention(
      x.narrow(1, 0, 4), {.key_padding_mask = keep.narrow(1, 0, 4), .is_causal = true}, &cache));
  for (int64_t t = 4; t < 7; ++t) {
    pieces.push_back(mha.self_attention(
        x.narrow(1, t, 1), {.key_padding_mask = keep.narrow(1, 0, t + 1), .is_causal = true},
        &cache));
  }
  CHECK(cache.length() == 7);
  check_close(cat(pieces, 1), full, 1e-12, 1e-10);
}

TEST_CASE("multi-head attention gives the same outputs and gradients fused and composite") {
  // need_weights = false takes the fused op; true the composite (matmul, masked_softmax, matmul).
  manual_seed(6);
  nn::MultiHeadAttention mha(8, 2, 0.0, true, kFloat64);
  const Tensor x = randn({3, 7, 8}, {kFloat64}).requires_grad_();
  const Tensor keep =
      tensor({1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1}, {kFloat64})
          .reshape({3, 7});
  for (const bool causal : {false, true}) {
    INFO("causal " << causal);
    std::vector<Tensor> results[2];
    for (const bool need_weights : {false, true}) {
      x.zero_grad();
      mha.zero_grad();
      const Tensor out = mha.self_attention(
          x, {.key_padding_mask = keep, .is_causal = causal, .need_weights = need_weights});
      (out * out).sum().backward();
      CHECK(mha.attention_weights.defined() == need_weights);  // the fused op keeps none
      results[need_weights] = {out, x.grad(), mha.in_proj_weight.grad()};
      // With the KV cache too: a prompt of 5 positions, then one more.
      NoGradGuard no_grad;
      nn::KVCache cache;
      const Tensor first = mha.self_attention(x.narrow(1, 0, 5),
                                              {.key_padding_mask = keep.narrow(1, 0, 5),
                                               .is_causal = causal,
                                               .need_weights = need_weights},
                                              &cache);
      const Tensor next = mha.self_attention(x.narrow(1, 5, 1),
                                             {.key_padding_mask = keep.narrow(1, 0, 6),
                                              .is_causal = causal,
                                              .need_weights = need_weights},
                                             &cache);
      results[need_weights].push_back(cat({first, next}, 1));
    }
    for (size_t i = 0; i < results[0].size(); ++i) {
      INFO("result " << i);
      check_close(results[0][i], results[1][i], 1e-12, 1e-10);
    }
  }
}

TEST_CASE("multi-head attention takes the fused op only when nothing needs the weights") {
  // Which path ran is read off the profiler: the fused op is a row of its own.
  manual_seed(7);
  nn::MultiHeadAttention mha(8, 2, 0.5);
  const Tensor x = randn({2, 5, 8});  // (B, T, E)
  auto fused_ran = [&](const nn::AttentionOptions& options) {
    const ProfilerOn on;
    (void)mha.self_attention(x, options);
    return find_row(profiler::rows(), "scaled_dot_product_attention", profiler::Kind::op,
                    profiler::Phase::forward)
        .has_value();
  };
  mha.train();
  CHECK_FALSE(fused_ran({.is_causal = true, .need_weights = false}));  // dropout on the weights
  mha.eval();
  CHECK(fused_ran({.is_causal = true, .need_weights = false}));
  CHECK_FALSE(fused_ran({.is_causal = true, .need_weights = true}));
  CHECK_FALSE(fused_ran({.attn_mask = ones({5, 5}), .need_weights = false}));
}

TEST_CASE("a KV cache grows by doubling, keeps every appended position, and refuses misuse") {
  manual_seed(5);
  nn::KVCache cache;
  std::vector<Tensor> keys, values;
  const std::vector<int64_t> appended{3, 1, 1, 2, 1, 5};       // positions per call: 13 in all
  const std::vector<int64_t> capacities{3, 6, 6, 12, 12, 24};  // the first fits, then doubled
  for (size_t i = 0; i < appended.size(); ++i) {
    keys.push_back(randn({2, 3, appended[i], 4}));  // (B, H, T, d)
    values.push_back(randn({2, 3, appended[i], 4}));
    const auto [all_keys, all_values] = cache.append(keys.back(), values.back());
    const int64_t held = cache.length();
    INFO("after append ", i, ": ", held, " positions, capacity ", cache.capacity());
    CHECK(cache.capacity() == capacities[i]);
    CHECK(all_keys.shape() == Shape{2, 3, held, 4});
    check_close(all_keys, cat(keys, 2), 0, 0);  // nothing lost or moved when the buffer grew
    check_close(all_values, cat(values, 2), 0, 0);
  }
  CHECK_THROWS_WITH_AS(cache.append(randn({1, 3, 1, 4}), randn({1, 3, 1, 4})),
                       doctest::Contains("the cache holds a batch of 2 with 3 heads of width 4"),
                       Error);
  // With grad mode on, a cache would silently cut the gradient of the new keys and values.
  nn::MultiHeadAttention mha(8, 2);
  nn::KVCache unused;
  CHECK_THROWS_WITH_AS(mha.self_attention(randn({1, 2, 8}), {.is_causal = true}, &unused),
                       doctest::Contains("run it under NoGradGuard"), Error);
  CHECK(unused.length() == 0);
  CHECK_THROWS_WITH_AS(unused.append(randn({1, 2, 1, 4}).requires_grad_(), randn({1, 2, 1, 4})),
                       doctest::Contains("append under NoGradGuard"), Error);
}

TEST_CASE(
    "left-padded causal attention never gives NaN: padded queries see nothing, output 0 weights") {
  manual_seed(4);
  nn::TransformerBlock block(8, 2);
  const Tensor x = randn({2, 5, 8}).requires_grad_();
  const Tensor keep = tensor({1, 1, 1, 1, 1, 0, 0, 1, 1, 1}).reshape({2, 5});
  const Tensor y = block(x, {.key_padding_mask = keep, .is_causal = true});
  y.sum().backward();
  for (double v : y.to_vector<double>()) REQUIRE(std::isfinite(v));
  for (double v : x.grad().to_vector<double>()) REQUIRE(std::isfinite(v));
  const Tensor weights = block.attn->attention_weights;  // (B, L, S), averaged over heads
  CHECK(weights.select(0, 1).select(0, 0).abs().sum().item() == 0);  // a padded query: all zeros
  CHECK(weights.select(0, 1).select(0, 2).sum().item() == doctest::Approx(1.0));
}

TEST_CASE("unbind: views per step, one gradient buffer, correct gradients") {
  const Tensor x = randn({4, 3}, {kFloat64}).requires_grad_();
  const std::vector<Tensor> rows = unbind(x, 0);
  REQUIRE(rows.size() == 4);
  check_close(rows[2], x.select(0, 2), 0, 0);
  check_gradients(
      [](const std::vector<Tensor>& in) {
        const std::vector<Tensor> cols = unbind(in[0], 1);
        return cols[0] * cols[2] + cols[1].exp();  // some slices used twice, one unused
      },
      {randn({4, 3}, {kFloat64})});
  // Twice through a retained graph: each pass starts from a fresh buffer.
  const Tensor y = (unbind(x, 0)[1] * 2.0).sum();
  y.backward({}, /*retain_graph=*/true);
  y.backward();
  check_values(x.grad().select(0, 1), {4, 4, 4});
  check_values(x.grad().select(0, 0), {0, 0, 0});
}

TEST_CASE("Dropout drops in training and is the identity in eval") {
  nn::Dropout dropout(0.5);
  const Tensor x = ones({1000});
  const Tensor dropped = dropout(x);
  const double zeros_seen = eq(dropped, scalar_tensor(0.0)).to(kFloat32).sum().item();
  CHECK(zeros_seen > 400);
  CHECK(zeros_seen < 600);
  dropout.eval();
  check_close(dropout(x), x, 0, 0);
}

TEST_CASE("Sequential chains unary modules with PyTorch's child names") {
  nn::Sequential mlp({std::make_shared<nn::Linear>(3, 5), std::make_shared<nn::GELU>("tanh"),
                      std::make_shared<nn::Linear>(5, 2)});
  CHECK(mlp(ones({4, 3})).shape() == Shape{4, 2});
  const nn::StateDict state = mlp.state_dict();
  CHECK(state.contains("0.weight"));
  CHECK(state.contains("2.bias"));
  CHECK(mlp.repr().find("(1): GELU(approximate='tanh')") != std::string::npos);
}

TEST_CASE("activation modules Sigmoid, SiLU, Softplus: their ops, PyTorch's reprs, bad settings") {
  const Tensor x = random64({3, 4}, 41);
  nn::Sigmoid sigmoid_module;
  nn::SiLU silu_module;
  nn::Softplus softplus_default, softplus_sharp(2.0, 1.0);
  check_close(sigmoid_module(x), sigmoid(x), 0, 0);
  check_close(silu_module(x), silu(x), 0, 0);
  check_close(softplus_default(x), softplus(x), 0, 0);
  check_close(softplus_sharp(x), softplus(x, 2.0, 1.0), 0, 0);
  nn::Sequential mlp({std::make_shared<nn::Linear>(4, 4), std::make_shared<nn::SiLU>(),
                      std::make_shared<nn::Softplus>(2.0, 1.0), std::make_shared<nn::Sigmoid>()});
  const std::string text = mlp.repr();
  INFO(text);
  CHECK(text.find("(1): SiLU()") != std::string::npos);
  CHECK(text.find("(2): Softplus(beta=2.0, threshold=1.0)") != std::string::npos);
  CHECK(text.find("(3): Sigmoid()") != std::string::npos);
  check_error([] { nn::Softplus bad(0.0); },
              {"Softplus: beta must be a finite number other than 0"});
  check_error([] { nn::Softplus bad(1.0, NAN); }, {"Softplus: threshold must be a number"});
}

TEST_CASE("sinusoidal positional encodings follow the formula; learned ones look up their table") {
  nn::SinusoidalPositionalEncoding sinusoidal(6, 0.0, 20, kFloat64);
  const Tensor x = zeros({2, 4, 6}, {kFloat64});
  const Tensor encoded = sinusoidal.forward(x, 3);  // positions 3..6
  for (int64_t t = 0; t < 4; ++t) {
    for (int64_t i = 0; i < 6; i += 2) {
      const double angle = double(t + 3) / std::pow(10000.0, double(i) / 6.0);
      CHECK(encoded.at({1, t, i}) == doctest::Approx(std::sin(angle)).epsilon(1e-12));
      CHECK(encoded.at({1, t, i + 1}) == doctest::Approx(std::cos(angle)).epsilon(1e-12));
    }
  }
  CHECK(sinusoidal.state_dict().empty());  // recomputed, never saved
  // Explicit position ids (a left-padded row starts at 0 at its first real token).
  const Tensor ids = int_tensor({0, 0, 0, 1, 0, 1, 2, 3}, {2, 4});
  const Tensor by_id = sinusoidal.forward(x, ids);
  check_close(by_id.select(0, 0).select(0, 3), sinusoidal.P.select(0, 1), 1e-12, 0);  // x is 0

  nn::LearnedPositionalEncoding learned(10, 6);
  CHECK(learned.state_dict().contains("wpe.weight"));
  const Tensor out = learned.forward(zeros({1, 3, 6}), 2);
  check_close(out.select(0, 0), learned.table->weight.narrow(0, 2, 3), 0, 0);
}

TEST_CASE("dot-product attention: a keep mask gives what the same valid lengths give") {
  manual_seed(6);
  nn::DotProductAttention attention;
  const Tensor q = randn({2, 3, 4}), k = randn({2, 5, 4}), v = randn({2, 5, 2});
  const Tensor by_lengths = attention(q, k, v, {.valid_lens = int_tensor({2, 4})});
  const Tensor keep = lt(arange(5).unsqueeze(0), int_tensor({2, 4}).unsqueeze(1)).unsqueeze(1);
  const Tensor by_mask = attention(q, k, v, {.keep_mask = keep});  // (2, 1, 5) broadcast over Q
  check_close(by_mask, by_lengths, 1e-7, 1e-6);
  CHECK(attention.attention_weights.select(0, 0).select(1, 3).abs().sum().item() == 0);
}

TEST_CASE("GRU: one step at a time equals the whole sequence at once, values and gradients") {
  manual_seed(11);
  nn::GRU gru(3, 4, {.num_layers = 2, .dtype = kFloat64});
  const Tensor input = random64({5, 2, 3}, 12).requires_grad_();  // (T, B, in)
  auto [whole, h_whole] = gru(input);
  (whole.sum() + h_whole.sum()).backward();
  const Tensor grad_whole = input.grad();
  const Tensor weight_grad_whole = gru.parameters()[0].grad();
  input.zero_grad(), gru.zero_grad();
  std::vector<Tensor> outputs;
  Tensor h;
  for (const Tensor& step : unbind(input, 0)) {
    auto [out, next] = gru(step.unsqueeze(0), h);  // T = 1: the path a decoder takes
    outputs.push_back(out.squeeze(0));
    h = next;
  }
  const Tensor stepped = stack(outputs, 0);
  check_close(stepped, whole, 1e-12, 1e-12);
  check_close(h, h_whole, 1e-12, 1e-12);
  (stepped.sum() + h.sum()).backward();
  check_close(input.grad(), grad_whole, 1e-12, 1e-12);
  check_close(gru.parameters()[0].grad(), weight_grad_whole, 1e-12, 1e-12);
}

TEST_CASE("no module keeps the last step's graph: live memory falls back to the model's state") {
  manual_seed(0);
  nn::AdditiveAttention attention(/*key_size=*/16, /*query_size=*/16, /*num_hiddens=*/32);
  nn::MultiHeadAttention self_attention(16, 4);
  std::vector<Tensor> parameters = attention.parameters();
  for (const Tensor& p : self_attention.parameters()) parameters.push_back(p);
  nn::Adam optimizer({{parameters, 1e-3}});
  auto step = [&] {
    const Tensor queries = randn({64, 20, 16}), keys = randn({64, 30, 16});
    optimizer.zero_grad();
    const Tensor context = attention(queries, keys, keys);  // (64, 20, 16)
    // The additive scores' features alone are 64 * 20 * 30 * 32 floats (10 MB): a module that
    // kept its weights with their graph would keep them alive until its next forward.
    const auto [out, weights] = self_attention(context, context, context);
    out.sum().backward();
    optimizer.step();
  };
  step();
  const size_t after_first = memory_stats().live_bytes;
  step();
  CHECK(memory_stats().live_bytes == after_first);  // nothing accumulates from step to step
  // What is alive: each parameter, its gradient and Adam's two moments, the step counters, and
  // the two stored (detached) weight tensors. Each block is rounded up to at most a page.
  size_t expected = 0, blocks = 0;
  for (const Tensor& p : parameters) expected += 4 * p.numel() * 4, blocks += 5;
  expected +=
      attention.attention_weights.numel() * 4 + self_attention.attention_weights.numel() * 4;
  blocks += 2;
  CHECK(!attention.attention_weights.grad_fn());
  CHECK(!self_attention.attention_weights.grad_fn());
  CHECK(after_first <= expected + blocks * 4096);
  CHECK(memory_stats().peak_bytes >= after_first);
  reset_peak_memory_stats();
  CHECK(memory_stats().peak_bytes == memory_stats().live_bytes);
}

TEST_CASE("init: SkipInitGuard leaves new layers undrawn, and only while it lives") {
  manual_seed(7);
  const Tensor first_draw = randn({4});
  manual_seed(7);
  {
    const nn::init::SkipInitGuard skip;
    CHECK(nn::init::init_skipped());
    nn::Linear linear(8, 8);
    nn::Embedding embedding(10, 4);
    Tensor t = zeros({3});
    nn::init::normal_(t, 5.0, 1.0);
    check_close(t, zeros({3}), 0, 0);  // left as it was
  }
  CHECK(!nn::init::init_skipped());
  check_close(randn({4}), first_draw, 0, 0);  // nothing was drawn from the generator
  Tensor t = zeros({3});
  nn::init::normal_(t, 5.0, 1.0);
  CHECK(t.abs().amin().item() > 0);  // drawn again
}
