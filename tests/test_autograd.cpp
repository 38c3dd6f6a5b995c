// Autograd: accumulation, reuse, broadcasting, retain_graph, freed graphs, no-grad, depth.
#include <algorithm>
#include <limits>

#include "tests/helpers.hpp"

using namespace heed;
using namespace heed::testing;

TEST_CASE("a reused tensor gets the sum of its gradients") {
  Tensor x = tensor({2.0, 3.0}, {kFloat64}).requires_grad_();
  const Tensor y = x * x + x * 3.0 + x;  // dy/dx = 2x + 4
  y.sum().backward();
  check_values(x.grad(), {8, 10});
}

TEST_CASE("gradients accumulate across backward calls until cleared") {
  Tensor x = ones({3}, {kFloat64, kCPU, true});
  (x * 2.0).sum().backward();
  (x * 2.0).sum().backward();
  check_values(x.grad(), {4, 4, 4});
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
  (x * 2.0).sum().backward();
  zero_grad({x});
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("gradients of broadcast inputs are summed back to their shapes") {
  Tensor a = random64({3, 1}, 1).requires_grad_();
  Tensor b = random64({4}, 2).requires_grad_();
  (a + b).sum().backward();
  CHECK(a.grad().shape() == Shape{3, 1});
  check_values(a.grad(), {4, 4, 4});
  check_values(b.grad(), {3, 3, 3, 3});
}

TEST_CASE("retain_graph allows a second backward; without it the second is an error") {
  Tensor x = tensor({1.0, 2.0}, {kFloat64}).requires_grad_();
  const Tensor y = (x.exp() * x).sum();
  y.backward({}, /*retain_graph=*/true);
  const std::vector<double> first = x.grad().to_vector<double>();
  y.backward();
  for (size_t i = 0; i < first.size(); ++i)
    CHECK(x.grad().to_vector<double>()[i] == doctest::Approx(2 * first[i]));
  check_error([&] { y.backward(); }, {"second time", "retain_graph"});
}

TEST_CASE("no-grad mode and detach record nothing") {
  Tensor x = ones({2}, {.requires_grad = true});
  {
    NoGradGuard guard;
    CHECK_FALSE(grad_enabled());
    CHECK_FALSE((x * 2.0).requires_grad());
  }
  CHECK(grad_enabled());
  CHECK_FALSE(x.detach().requires_grad());
  CHECK((x * 2.0).requires_grad());
  CHECK_FALSE((x.detach() * 2.0).requires_grad());
  check_error([&] { zeros({2}).backward(); }, {"does not require grad"});
  check_error([&] { (x * 2.0).backward(); }, {"one-element", "(2,)"});
  check_error([&] { x.fill_(1); }, {"fill_", "in place"});
}

TEST_CASE("an explicit gradient is used as the seed") {
  Tensor x = tensor({1.0, 2.0}, {kFloat64}).requires_grad_();
  (x * 3.0).backward(tensor({1.0, 10.0}, {kFloat64}));
  check_values(x.grad(), {3, 30});
  check_error([&] { (x * 3.0).backward(tensor({1.0}, {kFloat64})); }, {"backward", "(1,)", "(2,)"});
}

TEST_CASE("a chain 100,000 nodes deep runs backward and is freed without recursion") {
  Tensor x = tensor({1.0}, {kFloat64}).requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 100000; ++i) y = y + 1.0;
  y.backward();
  check_values(x.grad(), {1});
  // A deep graph dropped without backward must also be torn down iteratively.
  Tensor z = x;
  for (int i = 0; i < 100000; ++i) z = z * 1.0;
  z = Tensor();
  CHECK(x.grad().item() == 1);
}

TEST_CASE("a 2,000-step recurrent unroll backpropagates through time") {
  Tensor w = tensor({0.5}, {kFloat64}).requires_grad_();
  Tensor h = zeros({1}, {kFloat64});
  for (int t = 0; t < 2000; ++t) h = tanh(h * w + 0.1);
  h.sum().backward();
  CHECK(std::isfinite(w.grad().item()));
  CHECK(w.grad().item() > 0);
}

TEST_CASE("views route gradients back through shared storage") {
  Tensor x = random64({2, 3, 4}, 3);
  check_gradients(
      [](const auto& in) { return in[0].transpose(0, 2).narrow(1, 1, 2).select(0, 3) * 2.0; }, {x});
  check_gradients(
      [](const auto& in) {
        return in[0].permute({1, 2, 0}).reshape({3, 8});
      },
      {random64({2, 3, 4}, 4)});
  check_gradients(
      [](const auto& in) {
        return in[0].unsqueeze(1).expand({2, 5, 3, 4});
      },
      {random64({2, 3, 4}, 5)});
  check_gradients([](const auto& in) { return in[0].slice(2, 0, std::nullopt, 2).flatten(); },
                  {random64({2, 3, 4}, 6)});
  check_gradients(
      [](const auto& in) {
        return cat({in[0], in[1] * 2.0}, 1);
      },
      {random64({2, 3}, 7), random64({2, 2}, 8)});
  check_gradients(
      [](const auto& in) {
        return stack({in[0], in[1]}, 0);
      },
      {random64({2, 3}, 9), random64({2, 3}, 10)});
  check_gradients([](const auto& in) { return in[0].split(2, 0)[1] * in[0].chunk(2, 0)[0]; },
                  {random64({4, 2}, 11)});
  check_gradients([](const auto& in) { return in[0].clone().to(kFloat32).to(kFloat64); },
                  {random64({3}, 12)}, {1e-3, 1e-3, 1e-2});  // through float32: a larger step
}

TEST_CASE("anomaly mode names the first backward that produced NaN or inf") {
  const Tensor x = tensor({1.0, 0.0, 4.0}).requires_grad_();
  // d/dx log(x) = 1/x is inf at 0: without anomaly mode the gradient silently holds inf.
  log(x).sum().backward();
  CHECK(!all_finite(x.grad()));
  x.zero_grad();
  set_detect_anomaly(true);
  check_error([&] { log(x).sum().backward(); },
              {"anomaly detected", "the backward of 'log'", "gradient of its input 0"});
  // Finite gradients pass through untouched.
  const Tensor y = tensor({1.0, 2.0}).requires_grad_();
  (y * y).sum().backward();
  check_close(y.grad(), tensor({2.0, 4.0}));
  set_detect_anomaly(false);
  CHECK(!detect_anomaly_enabled());
}

TEST_CASE("a backward closure that returns too few gradients, or the wrong dtype, is an error") {
  const Tensor a = tensor({1.0, 2.0}).requires_grad_(), b = tensor({3.0, 4.0}).requires_grad_();
  // Two inputs, one gradient: before, b's gradient was silently dropped.
  const Tensor short_node = record((a * b).detach(), "too_few", {a, b},
                                   [](const Tensor& dy) { return std::vector<Tensor>{dy}; });
  check_error([&] { short_node.sum().backward(); },
              {"backward of 'too_few' returned 1 gradients for its 2 inputs"});
  // A float64 gradient for a float32 input: before, the leaf's grad turned float64.
  const Tensor wrong_dtype = record(a.detach() * 2.0, "wrong_dtype", {a}, [](const Tensor& dy) {
    return std::vector<Tensor>{dy.to(kFloat64)};
  });
  check_error([&] { wrong_dtype.sum().backward(); },
              {"backward of 'wrong_dtype': gradient for input 0 is float64 on cpu",
               "expected float32 on cpu"});
  CHECK(!a.grad().defined());
}

TEST_CASE("bmm and mm are named as themselves in nodes and errors") {
  const Tensor a = randn({2, 3, 4}).requires_grad_(), b = randn({2, 4, 5});
  CHECK(bmm(a, b).grad_fn()->name == "bmm");
  CHECK(mm(a.select(0, 0), b.select(0, 0)).grad_fn()->name == "mm");
  CHECK(matmul(a, b).grad_fn()->name == "matmul");
  check_error([&] { mm(zeros({2, 3}), zeros({4, 5})); }, {"mm: shapes (2, 3) and (4, 5)"});
}

TEST_CASE("a graph holds what its backward closures saved, not every intermediate tensor") {
  const int64_t n = int64_t{1} << 18;  // 1 MiB of float32
  Tensor x = randn({n});
  x.requires_grad_();
  const size_t before = memory_stats().live_bytes;
  Tensor y = x;
  for (int i = 0; i < 10; ++i) y = y * 2.0;  // x * 2^10; each product saves only its constant
  // Alive now: y, and per product a 0-d constant. A node holds the node that made its input, not
  // the input, so the nine intermediates went as soon as y moved on. Had the graph held its
  // inputs, they would be nine more MiB.
  const size_t held = memory_stats().live_bytes - before;
  CHECK(held < size_t(n) * 4 * 2);
  CHECK(held >= size_t(n) * 4);
  // The gradient still flows through every step: dx = 2^10.
  y.sum().backward();
  const std::vector<float> grad = x.grad().to_vector<float>();
  CHECK(std::all_of(grad.begin(), grad.end(), [](float g) { return g == 1024.0f; }));
}

TEST_CASE("a leaf is checked as it is at backward time, not as it was in the forward") {
  Tensor frozen = tensor({1.0, 2.0}, {kFloat64}).requires_grad_();
  Tensor trained = tensor({3.0, 4.0}, {kFloat64}).requires_grad_();
  Tensor loss = (frozen * trained).sum();
  frozen.requires_grad_(false);  // frozen after the forward: it gets no gradient
  loss.backward();
  CHECK(!frozen.grad().defined());
  check_values(trained.grad(), {1.0, 2.0});

  Tensor moved = tensor({1.0, 2.0}, {kFloat64}).requires_grad_();
  Tensor product = (moved * moved).sum();
  moved.set_data(moved.detach().to(kFloat32));  // as Module::to(kFloat32) between the two
  check_error([&] { product.backward(); }, {"gradient for input", "float64", "expected float32"});
}

TEST_CASE("unbind's pieces still carry gradients after a backward pass that failed") {
  Tensor x = tensor({1.0, 2.0, 3.0}, {kFloat64}).requires_grad_();
  const std::vector<Tensor> pieces = unbind(x, 0);
  // A pass that fails after two pieces ran and before `joined` (the pieces of `both` run
  // before the product with inf, whose gradient anomaly mode refuses).
  Tensor both = pieces[0] * 2.0 + pieces[1] * 3.0;
  set_detect_anomaly(true);
  const Tensor poisoned = pieces[2] * std::numeric_limits<double>::infinity();
  check_error([&] { (poisoned + both).backward({}, true); }, {"anomaly detected"});
  set_detect_anomaly(false);
  x.zero_grad();
  both.backward();
  check_values(x.grad(), {2.0, 3.0, 0.0});
}

TEST_CASE("grad-ready hooks run once per pass, as soon as each leaf's gradient is final") {
  Tensor first = tensor({2.0}, {kFloat64}).requires_grad_();   // used early in the forward
  Tensor last = tensor({3.0}, {kFloat64}).requires_grad_();    // used late, so final first
  Tensor unused = tensor({1.0}, {kFloat64}).requires_grad_();  // reached by no pass
  std::vector<std::string> events;
  std::vector<double> gradient_seen;
  auto log_hook = [&](const std::string& name) {
    return [&, name](const Tensor& leaf) {
      events.push_back(name);
      gradient_seen.push_back(leaf.grad().item());
    };
  };
  add_grad_ready_hook(first, log_hook("first"));
  add_grad_ready_hook(last, log_hook("last"));
  add_grad_ready_hook(unused, log_hook("unused"));
  // first is used twice: its hook waits for both contributions.
  const Tensor y = (first * 2.0 + first) * last;  // (1,) 3 first last
  y.sum().backward();
  CHECK(events == std::vector<std::string>{"last", "first"});
  CHECK(gradient_seen[0] == doctest::Approx(6.0));  // d/dlast = 3 first
  CHECK(gradient_seen[1] == doctest::Approx(9.0));  // the full d/dfirst = 3 last, not 2 last

  // A second pass runs the hooks again and sees the accumulated gradient.
  events.clear(), gradient_seen.clear();
  (first * last).sum().backward();
  CHECK(events.size() == 2);
  CHECK(first.grad().item() == doctest::Approx(12.0));  // 9 + last
}

TEST_CASE("grad-ready hooks can be removed, and only leaves that require grad take them") {
  Tensor w = ones({2}, {kFloat64, kCPU, true});
  int calls = 0;
  const uint64_t id = add_grad_ready_hook(w, [&](const Tensor&) { ++calls; });
  (w * 2.0).sum().backward();
  CHECK(calls == 1);
  remove_grad_ready_hook(w, id);
  remove_grad_ready_hook(w, id);  // removing twice is harmless
  (w * 2.0).sum().backward();
  CHECK(calls == 1);
  // A leaf that is itself the root of backward runs its hooks too.
  add_grad_ready_hook(w, [&](const Tensor&) { ++calls; });
  w.backward(ones_like(w));
  CHECK(calls == 2);

  const Tensor plain = ones({2});
  CHECK_THROWS_WITH_AS(add_grad_ready_hook(plain, [](const Tensor&) {}),
                       doctest::Contains("expected a leaf that requires grad"), Error);
  CHECK_THROWS_WITH_AS(add_grad_ready_hook(w * 2.0, [](const Tensor&) {}),
                       doctest::Contains("the output of an op"), Error);
  CHECK_THROWS_WITH_AS(add_grad_ready_hook(w, GradReadyHook{}),
                       doctest::Contains("the hook is empty"), Error);
}

TEST_CASE("a grad-ready hook that throws ends the backward pass with its error") {
  Tensor w = ones({2}, {kFloat64, kCPU, true});
  add_grad_ready_hook(w, [](const Tensor&) { fail("the hook refused"); });
  CHECK_THROWS_WITH_AS((w * 2.0).sum().backward(), doctest::Contains("the hook refused"), Error);
  check_values(w.grad(), {2, 2});  // accumulated before the hook ran
}
