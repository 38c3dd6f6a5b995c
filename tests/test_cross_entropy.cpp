// cross_entropy: the fused op against its composite and the reference kernels, with
// ignore_index and every reduction, and its errors.
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
    check_gradients([&](const auto& in) { return cross_entropy(in[0], targets, options); },
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
  check_gradients([&](const auto& in) { return cross_entropy(in[0], targets); },
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
