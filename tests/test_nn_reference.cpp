// Every nn module against PyTorch: the same weights and inputs
// (tests/data/nn_reference.safetensors, written by generate_nn_reference.py) must give the same
// outputs, input gradients and parameter gradients, in float64 and float32.
#include "tests/nn_reference.hpp"

using namespace heed;
using namespace heed::testing;

namespace {

const DType kBothDtypes[] = {kFloat64, kFloat32};

}  // namespace

TEST_CASE("Linear, Embedding and LayerNorm match PyTorch") {
  for (DType dtype : kBothDtypes) {
    const double rtol = reference_rtol(dtype);
    {
      const NNReference ref("linear", dtype);
      nn::Linear linear(5, 3, true, dtype);
      ref.load_into(linear);
      const Tensor x = ref.input("x");
      ref.check_outputs_and_backward({{"y", linear(x)}}, rtol);
      ref.check_grad("x", x.grad(), rtol);
      ref.check_parameter_grads(linear, rtol);
    }
    {
      const NNReference ref("embedding", dtype);
      nn::Embedding embedding(7, 4, 0, dtype);
      ref.load_into(embedding);
      ref.check_outputs_and_backward({{"y", embedding(ref.input("ids"))}}, rtol);
      ref.check_parameter_grads(embedding, rtol);  // row 0 (padding) gets no gradient
      CHECK(embedding.weight.grad().select(0, 0).abs().sum().item() == 0);
    }
    {
      const NNReference ref("layer_norm", dtype);
      nn::LayerNorm norm({6}, 1e-5, true, true, dtype);
      ref.load_into(norm);
      const Tensor x = ref.input("x");
      ref.check_outputs_and_backward({{"y", norm(x)}}, rtol);
      ref.check_grad("x", x.grad(), rtol);
      ref.check_parameter_grads(norm, rtol);
    }
  }
}

TEST_CASE("GRU and LSTM match PyTorch: layers, directions, initial state, batch_first") {
  for (DType dtype : kBothDtypes) {
    const double rtol = reference_rtol(dtype);
    {
      const NNReference ref("gru_bidirectional_h0", dtype);
      nn::GRU gru(4, 5, {.num_layers = 2, .bidirectional = true, .dtype = dtype});
      ref.load_into(gru);
      const Tensor x = ref.input("x"), h0 = ref.input("h0");
      auto [output, h_n] = gru(x, h0);
      ref.check_outputs_and_backward({{"output", output}, {"h_n", h_n}}, rtol);
      ref.check_grad("x", x.grad(), rtol);
      ref.check_grad("h0", h0.grad(), rtol);
      ref.check_parameter_grads(gru, rtol);
    }
    {
      const NNReference ref("gru_batch_first", dtype);
      nn::GRU gru(4, 5, {.batch_first = true, .dtype = dtype});
      ref.load_into(gru);
      const Tensor x = ref.input("x");
      auto [output, h_n] = gru(x);
      ref.check_outputs_and_backward({{"output", output}, {"h_n", h_n}}, rtol);
      ref.check_grad("x", x.grad(), rtol);
      ref.check_parameter_grads(gru, rtol);
    }
    {
      const NNReference ref("lstm_bidirectional_h0", dtype);
      nn::LSTM lstm(4, 5, {.num_layers = 2, .bidirectional = true, .dtype = dtype});
      ref.load_into(lstm);
      const Tensor x = ref.input("x"), h0 = ref.input("h0"), c0 = ref.input("c0");
      auto [output, state] = lstm(x, {h0, c0});
      ref.check_outputs_and_backward({{"output", output}, {"h_n", state.h}, {"c_n", state.c}},
                                     rtol);
      ref.check_grad("x", x.grad(), rtol);
      ref.check_grad("h0", h0.grad(), rtol);
      ref.check_grad("c0", c0.grad(), rtol);
      ref.check_parameter_grads(lstm, rtol);
    }
    {
      const NNReference ref("lstm_three_layers", dtype);
      nn::LSTM lstm(4, 5, {.num_layers = 3, .batch_first = true, .dtype = dtype});
      ref.load_into(lstm);
      const Tensor x = ref.input("x");
      auto [output, state] = lstm(x);
      ref.check_outputs_and_backward({{"output", output}, {"h_n", state.h}, {"c_n", state.c}},
                                     rtol);
      ref.check_grad("x", x.grad(), rtol);
      ref.check_parameter_grads(lstm, rtol);
    }
    {
      const NNReference ref("gru_cell", dtype);
      nn::GRUCell cell(4, 5, true, dtype);
      ref.load_into(cell);
      const Tensor x = ref.input("x"), h = ref.input("h");
      ref.check_outputs_and_backward({{"h_next", cell(x, h)}}, rtol);
      ref.check_grad("x", x.grad(), rtol);
      ref.check_grad("h", h.grad(), rtol);
      ref.check_parameter_grads(cell, rtol);
    }
    {
      const NNReference ref("lstm_cell", dtype);
      nn::LSTMCell cell(4, 5, true, dtype);
      ref.load_into(cell);
      const Tensor x = ref.input("x"), h = ref.input("h"), c = ref.input("c");
      auto [h_next, c_next] = cell(x, h, c);
      ref.check_outputs_and_backward({{"h_next", h_next}, {"c_next", c_next}}, rtol);
      ref.check_grad("x", x.grad(), rtol);
      ref.check_grad("h", h.grad(), rtol);
      ref.check_grad("c", c.grad(), rtol);
      ref.check_parameter_grads(cell, rtol);
    }
  }
}

TEST_CASE("additive, dot-product and Luong attention match d2l's in PyTorch") {
  for (DType dtype : kBothDtypes) {
    const double rtol = reference_rtol(dtype);
    for (const char* name : {"additive_lens_b", "additive_lens_bq"}) {
      const NNReference ref(name, dtype);
      nn::AdditiveAttention attention(3, 5, 7);
      attention.to(dtype);
      ref.load_into(attention);
      const Tensor q = ref.input("queries"), k = ref.input("keys"), v = ref.input("values");
      const auto [y, weights] =
          attention.forward_with_weights(q, k, v, {.valid_lens = ref.input("valid_lens")});
      ref.check_outputs_and_backward({{"y", y}, {"weights", weights}}, rtol);
      ref.check_grad("queries", q.grad(), rtol);
      ref.check_grad("keys", k.grad(), rtol);
      ref.check_grad("values", v.grad(), rtol);
      ref.check_parameter_grads(attention, rtol);
    }
    for (const char* name : {"dot_lens_b", "dot_lens_bq"}) {
      const NNReference ref(name, dtype);
      nn::DotProductAttention attention;
      const Tensor q = ref.input("queries"), k = ref.input("keys"), v = ref.input("values");
      const auto [y, weights] =
          attention.forward_with_weights(q, k, v, {.valid_lens = ref.input("valid_lens")});
      ref.check_outputs_and_backward({{"y", y}, {"weights", weights}}, rtol);
      ref.check_grad("queries", q.grad(), rtol);
      ref.check_grad("keys", k.grad(), rtol);
      ref.check_grad("values", v.grad(), rtol);
    }
    {
      const NNReference ref("luong_general", dtype);
      nn::LuongAttention attention(nn::LuongScore::General, 5, 3);
      attention.to(dtype);
      ref.load_into(attention);
      const Tensor q = ref.input("queries"), k = ref.input("keys"), v = ref.input("values");
      const Tensor y = attention(q, k, v, {.valid_lens = ref.input("valid_lens")});
      ref.check_outputs_and_backward({{"y", y}}, rtol);
      ref.check_grad("queries", q.grad(), rtol);
      ref.check_grad("keys", k.grad(), rtol);
      ref.check_parameter_grads(attention, rtol);
    }
    {
      const NNReference ref("luong_concat", dtype);
      nn::LuongAttention attention(nn::LuongScore::Concat, 5, 3, 6);
      attention.to(dtype);
      ref.load_into(attention);
      const Tensor q = ref.input("queries"), k = ref.input("keys"), v = ref.input("values");
      const Tensor y = attention(q, k, v, {.valid_lens = ref.input("valid_lens")});
      ref.check_outputs_and_backward({{"y", y}}, rtol);
      ref.check_grad("queries", q.grad(), rtol);
      ref.check_grad("keys", k.grad(), rtol);
      ref.check_parameter_grads(attention, rtol);
    }
  }
}

TEST_CASE("multi-head attention and the transformer block match PyTorch") {
  for (DType dtype : kBothDtypes) {
    const double rtol = reference_rtol(dtype);
    {
      const NNReference ref("mha_padding", dtype);
      nn::MultiHeadAttention mha(8, 2, 0.0, true, dtype);
      ref.load_into(mha);
      const Tensor q = ref.input("query"), k = ref.input("key"), v = ref.input("value");
      auto [y, weights] = mha(q, k, v, {.key_padding_mask = ref.input("keep")});
      ref.check_outputs_and_backward({{"y", y}, {"weights", weights}}, rtol);
      ref.check_grad("query", q.grad(), rtol);
      ref.check_grad("key", k.grad(), rtol);
      ref.check_grad("value", v.grad(), rtol);
      ref.check_parameter_grads(mha, rtol);
    }
    {
      const NNReference ref("mha_causal_self", dtype);
      nn::MultiHeadAttention mha(8, 2, 0.0, true, dtype);
      ref.load_into(mha);
      const Tensor x = ref.input("x");
      auto [y, weights] = mha(x, x, x, {.is_causal = true, .average_attn_weights = false});
      ref.check_outputs_and_backward({{"y", y}, {"weights", weights}}, rtol);
      ref.check_grad("x", x.grad(), rtol);
      ref.check_parameter_grads(mha, rtol);
    }
    {
      const NNReference ref("transformer_block", dtype);
      nn::TransformerBlock block(8, 2, {.dtype = dtype});
      ref.load_into(block);
      const Tensor x = ref.input("x");
      const Tensor y = block(x, {.key_padding_mask = ref.input("keep"), .is_causal = true});
      ref.check_outputs_and_backward({{"y", y}}, rtol);
      ref.check_grad("x", x.grad(), rtol);
      ref.check_parameter_grads(block, rtol);
    }
  }
}

TEST_CASE("losses match PyTorch: label smoothing, sequence cross-entropy, MSE") {
  for (DType dtype : kBothDtypes) {
    const double rtol = reference_rtol(dtype);
    {
      const NNReference ref("cross_entropy_smoothing", dtype);
      const Tensor logits = ref.input("logits");
      const Tensor loss = nn::cross_entropy(logits, ref.input("targets"), {.label_smoothing = 0.1});
      ref.check_outputs_and_backward({{"loss", loss}}, rtol);
      ref.check_grad("logits", logits.grad(), rtol);
    }
    {
      const NNReference ref("sequence_cross_entropy", dtype);
      const Tensor logits = ref.input("logits");
      const Tensor loss =
          nn::sequence_cross_entropy(logits, ref.input("targets"), ref.input("valid_lens"));
      ref.check_outputs_and_backward({{"loss", loss}}, rtol);
      ref.check_grad("logits", logits.grad(), rtol);
    }
    {
      const NNReference ref("mse", dtype);
      const Tensor a = ref.input("a"), b = ref.input("b");
      ref.check_outputs_and_backward({{"loss", nn::mse_loss(a, b)}}, rtol);
      ref.check_grad("a", a.grad(), rtol);
      ref.check_grad("b", b.grad(), rtol);
    }
  }
}

TEST_CASE("optimizers reproduce PyTorch's parameters after 10 steps (float64)") {
  auto run = [](const char* name, auto make) {
    INFO("optimizer case " << name);
    const NNReference ref(name);
    Tensor w = ref.input("w"), b = ref.input("b");
    const Tensor x = ref.get("in", "x"), target = ref.get("in", "target");
    auto optimizer = make(std::vector<nn::ParamGroup>{{{w}, 0.0, 0.1}, {{b}, 0.0, 0.0}});
    for (int step = 0; step < 10; ++step) {
      optimizer.zero_grad();
      (matmul(x, w) + b - target).pow(2.0).mean().backward();
      optimizer.step();
    }
    check_close(w, ref.get("out", "w"), 1e-9, 1e-6);
    check_close(b, ref.get("out", "b"), 1e-9, 1e-6);
  };
  auto with_lr = [](std::vector<nn::ParamGroup> groups, double lr) {
    for (auto& group : groups) group.lr = lr;
    return groups;
  };
  run("sgd", [&](auto groups) { return nn::SGD(with_lr(groups, 0.1)); });
  run("sgd_momentum", [&](auto groups) {
    return nn::SGD(with_lr(groups, 0.1), {.momentum = 0.9, .dampening = 0.1});
  });
  run("sgd_nesterov", [&](auto groups) {
    return nn::SGD(with_lr(groups, 0.1), {.momentum = 0.9, .nesterov = true});
  });
  run("adam",
      [&](auto groups) { return nn::Adam(with_lr(groups, 0.05), {.beta1 = 0.8, .beta2 = 0.99}); });
  run("adamw",
      [&](auto groups) { return nn::AdamW(with_lr(groups, 0.05), {.beta1 = 0.9, .beta2 = 0.95}); });
}

TEST_CASE("clip_grad_norm returns the total norm and scales like PyTorch") {
  const NNReference ref("clip");
  Tensor a = zeros({3, 4}, {kFloat64}).requires_grad_(),
         b = zeros({5}, {kFloat64}).requires_grad_();
  a.set_grad(ref.get("in", "g0"));
  b.set_grad(ref.get("in", "g1"));
  const double norm = nn::clip_grad_norm({a, b}, 1.5);
  CHECK(norm == doctest::Approx(ref.get("out", "norm").item()).epsilon(1e-12));
  check_close(a.grad(), ref.get("out", "g0"), 1e-12, 1e-10);
  check_close(b.grad(), ref.get("out", "g1"), 1e-12, 1e-10);
}

TEST_CASE("Conv2d, ConvTranspose2d, MaxPool2d, AvgPool2d and Flatten match PyTorch") {
  for (DType dtype : kBothDtypes) {
    const double rtol = reference_rtol(dtype);
    {
      const NNReference ref("conv2d", dtype);
      nn::Conv2d conv(4, 6, {3, 2},
                      {.stride = {2, 1}, .padding = {1, 1}, .dilation = {1, 2}, .groups = 2}, true,
                      dtype);
      ref.load_into(conv);
      const Tensor x = ref.input("x");
      ref.check_outputs_and_backward({{"y", conv(x)}}, rtol);
      ref.check_grad("x", x.grad(), rtol);
      ref.check_parameter_grads(conv, rtol);
    }
    {
      const NNReference ref("conv_transpose2d", dtype);
      nn::ConvTranspose2d deconv(
          4, 6, {3, 3},
          {.stride = {2, 2}, .padding = {1, 1}, .output_padding = {1, 1}, .groups = 2}, true,
          dtype);
      ref.load_into(deconv);
      const Tensor x = ref.input("x");
      ref.check_outputs_and_backward({{"y", deconv(x)}}, rtol);
      ref.check_grad("x", x.grad(), rtol);
      ref.check_parameter_grads(deconv, rtol);
    }
    {
      const NNReference ref("pools_flatten", dtype);
      nn::MaxPool2d max_pool({3, 3}, {.stride = {2, 2}, .padding = {1, 1}});
      nn::AvgPool2d avg_pool({2, 2});
      nn::Flatten flatten;
      const Tensor x = ref.input("x");
      ref.check_outputs_and_backward({{"y", flatten(avg_pool(max_pool(x)))}}, rtol);
      ref.check_grad("x", x.grad(), rtol);
    }
  }
  CHECK(nn::Conv2d(4, 6, {3, 2}, {.groups = 2}).weight.shape() == Shape{6, 2, 3, 2});
  CHECK(nn::ConvTranspose2d(4, 6, {3, 3}, {.groups = 2}).weight.shape() == Shape{4, 3, 3, 3});
  check_error(
      [] {
        nn::Conv2d(4, 6, {3, 3}, {.groups = 4});
      },
      {"Conv2d", "groups", "in_channels 4", "out_channels 6", "got 4"});
  check_error(
      [] {
        nn::Conv2d(3, 8, {3, 3})(zeros({1, 4, 5, 5}));
      },
      {"Conv2d", "(N, 3, H, W)", "(1, 4, 5, 5)"});
  check_error([] { nn::ConvTranspose2d(3, 8, {0, 3}); }, {"ConvTranspose2d", "kernel 0x3"});
}
