// cross_entropy, layer_norm, index_select / gather / embedding and dropout: each fused op
// against its unfused composite, gradients, and errors.
#include "tests/helpers.hpp"

using namespace heed;
using namespace heed::testing;

TEST_CASE("cross_entropy matches its composite, with ignore_index and every reduction") {
  const Tensor logits = random64({5, 4}, 111);
  const Tensor targets = int_tensor({0, 3, -100, 1, 2});
  for (Reduction reduction : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    const CrossEntropyOptions options{.reduction = reduction};
    check_close(cross_entropy(logits, targets, options),
                cross_entropy_composite(logits, targets, options), 1e-12, 1e-12);
    gradcheck([&](const auto& in) { return cross_entropy(in[0], targets, options); },
              {random64({5, 4}, 112)});
  }
  // the mean counts only the 4 targets that are not ignored
  const double total = cross_entropy(logits, targets, {.reduction = Reduction::Sum}).item();
  CHECK(cross_entropy(logits, targets).item() == doctest::Approx(total / 4).epsilon(1e-12));
  // every target ignored: 0 and a zero gradient, not NaN
  Tensor leaf = random64({2, 3}, 113).requires_grad_();
  const Tensor nothing = cross_entropy(leaf, int_tensor({-100, -100}));
  CHECK(nothing.item() == 0.0);
  nothing.backward();
  for (double v : leaf.grad().to_vector<double>()) CHECK(v == 0.0);
  // (N, C, T) logits with (N, T) targets, and unbatched (C,)
  const Tensor sequence_logits = random64({2, 4, 3}, 114);
  const Tensor sequence_targets = int_tensor({0, 1, 2, 3, 0, 1}, {2, 3});
  check_close(
      cross_entropy(sequence_logits, sequence_targets),
      cross_entropy(movedim(sequence_logits, 1, -1).reshape({6, 4}), sequence_targets.reshape({6})),
      1e-12, 1e-12);
  check_close(cross_entropy(random64({4}, 115), int_tensor({2}).reshape({})),
              cross_entropy(random64({1, 4}, 115), int_tensor({2})), 1e-12, 1e-12);
  gradcheck([&](const auto& in) { return cross_entropy(in[0], targets); },
            {random64({5, 4}, 116).to(kFloat32)}, kFloat32Tolerance);
}

TEST_CASE("fused cross_entropy matches the reference kernels") {
  const Tensor logits = (random64({37, 65}, 117) * 3.0).to(kFloat32).requires_grad_();
  const Tensor targets = randint(0, 65, {37});
  cross_entropy(logits, targets).backward();
  const Tensor fast_grad = logits.grad();
  logits.zero_grad();
  ReferenceKernelsGuard naive;
  cross_entropy(logits, targets).backward();
  check_close(fast_grad, logits.grad(), 1e-7, 1e-4);
}

TEST_CASE("cross_entropy errors") {
  check_error(
      [] {
        cross_entropy(zeros({2, 3}), int_tensor({0, 3}));
      },
      {"cross_entropy", "target 3", "3 classes"});
  check_error(
      [] {
        cross_entropy(zeros({2, 3}), int_tensor({0}));
      },
      {"cross_entropy", "(2,)", "(1,)"});
  check_error([] { cross_entropy(zeros({2, 3}), zeros({2})); }, {"cross_entropy", "int64"});
}

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
  gradcheck([](const auto& in) { return layer_norm(in[0], {5}, in[1], in[2]); },
            {random64({3, 5}, 124), random64({5}, 125), random64({5}, 126)});
  gradcheck([](const auto& in) { return layer_norm(in[0], {2, 3}); }, {random64({2, 2, 3}, 127)});
  gradcheck([](const auto& in) { return layer_norm(in[0], {5}, in[1], in[2]); },
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

TEST_CASE("index_select, gather and embedding, with scatter-add backwards") {
  const Tensor x = tensor({{1, 2, 3}, {4, 5, 6}}, {kFloat64});
  check_values(index_select(x, 1, int_tensor({2, 0, 2})), {3, 1, 3, 6, 4, 6});
  check_values(index_select(x, 0, int_tensor({1})), {4, 5, 6});
  check_values(gather(x, 1, int_tensor({2, 2, 0, 1}, {2, 2})), {3, 3, 4, 5});
  const Tensor table = tensor({{0, 0}, {1, 1}, {2, 2}}, {kFloat64});
  const Tensor looked_up = embedding(table, int_tensor({2, 0, 2, 1}, {2, 2}));
  CHECK(looked_up.shape() == Shape{2, 2, 2});
  check_values(looked_up, {2, 2, 0, 0, 2, 2, 1, 1});
  // repeated ids sum their gradients
  Tensor weight = random64({3, 2}, 141).requires_grad_();
  embedding(weight, int_tensor({2, 2, 0})).sum().backward();
  check_values(weight.grad(), {1, 1, 0, 0, 2, 2});
  gradcheck(
      [](const auto& in) {
        return index_select(in[0], 1, int_tensor({1, 1, 0}));
      },
      {random64({2, 3, 2}, 142)});
  gradcheck(
      [](const auto& in) {
        return gather(in[0], 0, int_tensor({1, 0, 1, 1, 0, 0}, {2, 3}));
      },
      {random64({2, 3}, 143)});
  gradcheck(
      [](const auto& in) {
        return embedding(in[0], int_tensor({3, 1, 3}));
      },
      {random64({4, 2}, 144)});
  check_error([&] { embedding(table, int_tensor({3})); }, {"embedding", "token id 3", "3 rows"});
  check_error([&] { embedding(table, int_tensor({-1})); }, {"embedding", "-1"});
  check_error([&] { index_select(x, 1, int_tensor({3})); }, {"index_select", "index 3", "size 3"});
  check_error([&] { gather(x, 1, int_tensor({0}, {1, 1})); }, {"gather", "(1, 1)", "(2, 3)"});
  check_error([&] { embedding(table, tensor({1.0})); }, {"embedding", "int64"});
}

TEST_CASE("dropout is seeded, scales what it keeps, and is the identity in eval") {
  const Tensor x = ones({10000}, {kFloat64});
  Generator a(3), b(3);
  const Tensor y = dropout(x, 0.3, true, &a);
  check_close(y, dropout(x, 0.3, true, &b), 0, 0);
  int64_t kept = 0;
  for (double v : y.to_vector<double>()) {
    CHECK((v == 0.0 || std::abs(v - 1 / 0.7) < 1e-12));
    kept += v != 0.0;
  }
  CHECK(std::abs(static_cast<double>(kept) / 10000 - 0.7) < 0.02);
  CHECK(dropout(x, 0.3, false).shares_storage_with(x));
  check_values(dropout(ones({3}), 1.0, true), {0, 0, 0});
  Tensor leaf = ones({50}, {kFloat64}).requires_grad_();
  Generator c(4), d(4);
  dropout(leaf, 0.5, true, &c).sum().backward();
  check_close(leaf.grad(), dropout(ones({50}, {kFloat64}), 0.5, true, &d), 0,
              0);  // dx = mask / (1 - p)
  check_error([] { dropout(ones({2}), 1.5, true); }, {"dropout", "1.5"});
}

TEST_CASE("embedding with padding_idx: forward, gradcheck, no gradient into the padding row") {
  const Tensor ids = int_tensor({2, 0, 1, 0, 2}, {5});
  // The padding row's gradient is 0 by definition (its lookups are treated as constants), so
  // finite differences apply to the other rows: ids without the padding id, through the same
  // masked backward path.
  const Tensor no_padding = int_tensor({2, 0, 2, 0}, {4});
  gradcheck([&](const std::vector<Tensor>& in) { return embedding(in[0], no_padding, 1); },
            {random64({3, 4}, 31)});
  const Tensor weight = random64({3, 4}, 32).requires_grad_();
  const Tensor out = embedding(weight, ids.reshape({5, 1}), 0);  // (5, 1, 4)
  CHECK(out.shape() == Shape{5, 1, 4});
  check_close(out.select(0, 3).squeeze(0), weight.select(0, 0), 0, 0);  // forward still looks up
  out.sum().backward();
  check_values(weight.grad().select(0, 0), {0, 0, 0, 0});
  check_values(weight.grad().select(0, 2), {2, 2, 2, 2});
  check_error([&] { embedding(weight, int_tensor({3})); }, {"embedding", "token id 3", "3 rows"});
}

TEST_CASE("unbind checks its dim") {
  check_error([] { unbind(ones({2, 3}), 2); }, {"unbind", "2"});
}

TEST_CASE("gru_cell: fused forward and backward equal the composite, in both dtypes") {
  for (DType dtype : {kFloat64, kFloat32}) {
    const double tolerance = dtype == kFloat64 ? 1e-12 : 2e-6;
    for (int64_t hidden : {1, 5, 17, 40}) {
      INFO("hidden " << hidden << ", " << dtype_name(dtype));
      Generator generator(static_cast<uint64_t>(hidden));
      auto make = [&](const Shape& shape) {
        return (randn(shape, {kFloat64}, &generator) * 2.0).to(dtype).requires_grad_();
      };
      const Tensor in = make({3, 3 * hidden}), hid = make({3, 3 * hidden}), h = make({3, hidden});
      const Tensor upstream = randn({3, hidden}, {kFloat64}, &generator).to(dtype);
      auto run = [&](auto cell) {
        in.zero_grad(), hid.zero_grad(), h.zero_grad();
        const Tensor out = cell(in, hid, h);
        (out * upstream).sum().backward();
        return std::vector<Tensor>{out, in.grad(), hid.grad(), h.grad()};
      };
      check_fused(run, gru_cell, gru_cell_composite, tolerance);
    }
  }
}

TEST_CASE("gru_cell: gradcheck and errors") {
  gradcheck([](const std::vector<Tensor>& x) { return gru_cell(x[0], x[1], x[2]); },
            {random64({2, 9}, 41), random64({2, 9}, 42), random64({2, 3}, 43)});
  check_error(
      [] {
        gru_cell(ones({2, 9}), ones({2, 9}), ones({2, 4}));
      },
      {"gru_cell", "(B, 3H)", "(2, 9)", "(2, 4)"});
  check_error([] { gru_cell(ones({2, 9}), ones({2, 6}), ones({2, 3})); }, {"gru_cell", "(2, 6)"});
  check_error(
      [] {
        gru_cell(ones({2, 9}), ones({2, 9}), ones({2, 3}, {kFloat64}));
      },
      {"gru_cell", "one dtype"});
}
