// Elementwise ops: forward values, gradcheck (float64 at PyTorch's tolerances, float32 looser),
// broadcasting, and error paths.
#include <cmath>

#include "engine/cpu/fast_math.hpp"
#include "engine/cpu/kernels.hpp"
#include "engine/ops/kernel_call.hpp"
#include "tests/helpers.hpp"

using namespace heed;
using namespace heed::testing;

namespace {

using Unary = std::function<Tensor(const Tensor&)>;

// Positive inputs keep log, sqrt and pow defined; others use the normal draws.
Tensor positive64(const Shape& shape, uint64_t seed) {
  return random64(shape, seed).abs() + 0.5;
}

void gradcheck_unary(const Unary& f, const Tensor& x) {
  check_gradients([&](const auto& in) { return f(in[0]); }, {x.clone().detach()});
  check_gradients([&](const auto& in) { return f(in[0]); }, {x.to(kFloat32).detach()},
                  kFloat32Tolerance);
}

}  // namespace

TEST_CASE("unary forward values") {
  const Tensor x = tensor({-2.0, -0.5, 0.0, 0.5, 2.0}, {kFloat64});
  check_values(-x, {2, 0.5, 0, -0.5, -2});
  check_values(x.abs(), {2, 0.5, 0, 0.5, 2});
  check_values(x.relu(), {0, 0, 0, 0.5, 2});
  check_values(x.exp(), {std::exp(-2.0), std::exp(-0.5), 1, std::exp(0.5), std::exp(2.0)});
  check_values(x.tanh(), {std::tanh(-2.0), std::tanh(-0.5), 0, std::tanh(0.5), std::tanh(2.0)});
  check_values(x.sigmoid(), {1 / (1 + std::exp(2.0)), 1 / (1 + std::exp(0.5)), 0.5,
                             1 / (1 + std::exp(-0.5)), 1 / (1 + std::exp(-2.0))});
  check_values(x.clamp(-1.0, 1.0), {-1, -0.5, 0, 0.5, 1});
  check_values(x.clamp(std::nullopt, 0.0), {-2, -0.5, 0, 0, 0});
  check_values(tensor({4.0, 9.0}, {kFloat64}).sqrt(), {2, 3});
  check_values(tensor({1.0, std::exp(1.0)}, {kFloat64}).log(), {0, 1});
  check_values(tensor({2.0, 3.0}, {kFloat64}).pow(3.0), {8, 27});
  // gelu: exact x * Phi(x), and the tanh approximation
  for (double v : {-2.0, -0.5, 0.0, 0.5, 2.0}) {
    const double exact = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
    const double approx =
        0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
    CHECK(gelu(tensor({v}, {kFloat64})).item() == doctest::Approx(exact).epsilon(1e-12));
    CHECK(gelu(tensor({v}, {kFloat64}), "tanh").item() == doctest::Approx(approx).epsilon(1e-12));
  }
}

TEST_CASE("log1p, expm1, sin, cos, erf, silu, softplus: values, gradients and errors") {
  const std::vector<double> values{-3.0, -0.5, -1e-10, 0.0, 1e-10, 0.5, 3.0};
  const Tensor x = tensor(values, {7}, {kFloat64});
  std::vector<double> expected[7];
  for (double v : values) {
    expected[0].push_back(std::log1p(std::abs(v)));
    expected[1].push_back(std::expm1(v));
    expected[2].push_back(std::sin(v));
    expected[3].push_back(std::cos(v));
    expected[4].push_back(std::erf(v));
    expected[5].push_back(v / (1 + std::exp(-v)));
    expected[6].push_back(std::log1p(std::exp(2 * v)) / 2);  // softplus, beta 2
  }
  check_values(log1p(x.abs()), expected[0], 0);  // exact near 0, where log(1 + x) is not
  check_values(expm1(x), expected[1], 0);
  check_values(sin(x), expected[2], 1e-15);
  check_values(cos(x), expected[3], 1e-15);
  check_values(erf(x), expected[4], 1e-15);
  check_values(silu(x), expected[5], 1e-14);
  check_values(softplus(x, 2), expected[6], 1e-14);
  CHECK(log1p(tensor({1e-10}, {kFloat64})).item() ==
        1e-10 - 5e-21);  // log(1 + x) gives 1.00000008e-10
  // Above the threshold softplus is x itself (and its gradient 1), as PyTorch's.
  check_values(softplus(tensor({30.0, 5.0}, {kFloat64}), 1, 20), {30.0, std::log1p(std::exp(5.0))});
  check_values(softplus(tensor({3.0}, {kFloat64}), 2, 5), {3.0});  // 2 * 3 > 5
  const Tensor big = tensor({1000.0}, {kFloat32});
  CHECK(softplus(big).item() == 1000.0);  // no overflow to inf

  gradcheck_unary([](const Tensor& t) { return log1p(t); }, positive64({3, 4}, 31) - 0.4);
  gradcheck_unary([](const Tensor& t) { return expm1(t); }, random64({3, 4}, 32));
  gradcheck_unary([](const Tensor& t) { return sin(t); }, random64({3, 4}, 33) * 3.0);
  gradcheck_unary([](const Tensor& t) { return cos(t); }, random64({3, 4}, 34) * 3.0);
  gradcheck_unary([](const Tensor& t) { return erf(t); }, random64({3, 4}, 35));
  gradcheck_unary([](const Tensor& t) { return silu(t); }, random64({3, 4}, 36) * 2.0);
  gradcheck_unary([](const Tensor& t) { return softplus(t); }, random64({3, 4}, 37) * 2.0);
  gradcheck_unary([](const Tensor& t) { return softplus(t, 0.5, 1.0); }, random64({3, 4}, 38));
  gradcheck_unary([](const Tensor& t) { return softplus(t, -1.5); }, random64({3, 4}, 39));
  // Both sides of the threshold (x > 2 is linear): wide draws put elements on each.
  gradcheck_unary([](const Tensor& t) { return softplus(t, 1.0, 2.0); },
                  random64({3, 4}, 40) * 3.0);
  // Far below -80 the kernels switch to v e^v: values stay tiny, never -0.6 from a saturated exp.
  const Tensor far = tensor({-1e38, -100.0, -81.0}, {kFloat32});
  for (double v : silu(far).to_vector<double>()) CHECK(std::abs(v) < 1e-30);
  check_values(silu(tensor({-100.0}, {kFloat64})), {-100.0 * std::exp(-100.0)}, 0);

  const Tensor ints = arange(int64_t{3});
  for (const auto& named_op : std::vector<std::pair<std::string, Unary>>{
           {"log1p", [](const Tensor& t) { return log1p(t); }},
           {"expm1", [](const Tensor& t) { return expm1(t); }},
           {"sin", [](const Tensor& t) { return sin(t); }},
           {"cos", [](const Tensor& t) { return cos(t); }},
           {"erf", [](const Tensor& t) { return erf(t); }},
           {"silu", [](const Tensor& t) { return silu(t); }},
           {"softplus", [](const Tensor& t) { return softplus(t); }}}) {
    const std::string& op_name = named_op.first;  // named: clang 14 cannot capture bindings
    const Unary& op = named_op.second;
    INFO(op_name);
    check_error([&] { (void)op(ints); }, {op_name + ":", "int64"});
  }
  check_error([&] { (void)softplus(x, 0); },
              {"softplus: beta must be a finite number other than 0, got 0"});
  check_error([&] { (void)softplus(x, INFINITY); }, {"softplus: beta", "got inf"});
  check_error([&] { (void)softplus(x, 1, NAN); }, {"softplus: threshold must be a number"});
}

TEST_CASE("unary gradients match central differences") {
  const Tensor x = random64({3, 4}, 21);
  gradcheck_unary([](const Tensor& t) { return -t; }, x);
  gradcheck_unary([](const Tensor& t) { return t.exp(); }, x);
  gradcheck_unary([](const Tensor& t) { return t.log(); }, positive64({3, 4}, 22));
  gradcheck_unary([](const Tensor& t) { return t.sqrt(); }, positive64({3, 4}, 23));
  gradcheck_unary([](const Tensor& t) { return t.abs(); }, x);
  gradcheck_unary([](const Tensor& t) { return t.tanh(); }, x);
  gradcheck_unary([](const Tensor& t) { return t.sigmoid(); }, x);
  gradcheck_unary([](const Tensor& t) { return t.relu(); }, x);
  gradcheck_unary([](const Tensor& t) { return gelu(t); }, x);
  gradcheck_unary([](const Tensor& t) { return gelu(t, "tanh"); }, x);
  gradcheck_unary([](const Tensor& t) { return t.clamp(-0.5, 0.7); }, x);
  gradcheck_unary([](const Tensor& t) { return t.pow(3.0); }, x);
  gradcheck_unary([](const Tensor& t) { return t.pow(-1.5); }, positive64({3, 4}, 24));
}

TEST_CASE("binary ops broadcast and their gradients sum back") {
  const Tensor a = tensor({{1, 2, 3}, {4, 5, 6}}, {kFloat64});
  const Tensor b = tensor({10, 20, 30}, {kFloat64});
  check_values(a + b, {11, 22, 33, 14, 25, 36});
  check_values(a - b, {-9, -18, -27, -6, -15, -24});
  check_values(a * b, {10, 40, 90, 40, 100, 180});
  check_values(b / a, {10, 10, 10, 2.5, 4, 5});
  check_values(pow(a, tensor({2.0}, {kFloat64})), {1, 4, 9, 16, 25, 36});
  check_values(maximum(a, full({1}, 3.5, {kFloat64})), {3.5, 3.5, 3.5, 4, 5, 6});
  check_values(minimum(a, full({1}, 3.5, {kFloat64})), {1, 2, 3, 3.5, 3.5, 3.5});
  check_values(2.0 - a, {1, 0, -1, -2, -3, -4});
  check_values(12.0 / a, {12, 6, 4, 3, 2.4, 2});

  const Tensor x = random64({2, 3}, 31), y = random64({3}, 32), z = random64({2, 1}, 33);
  for (auto f : std::vector<std::function<Tensor(const std::vector<Tensor>&)>>{
           [](const auto& in) { return in[0] + in[1] * in[2]; },
           [](const auto& in) { return in[0] - in[1] / (in[2].abs() + 1.0); },
           [](const auto& in) { return maximum(in[0], in[1]) + minimum(in[1], in[2]); },
           [](const auto& in) { return pow(in[0].abs() + 0.5, in[1]) * in[2]; }}) {
    check_gradients(f, {x.clone().detach(), y.clone().detach(), z.clone().detach()});
    check_gradients(f, {x.to(kFloat32), y.to(kFloat32), z.to(kFloat32)}, kFloat32Tolerance);
  }
}

TEST_CASE("comparisons, where and masked_fill") {
  const Tensor a = tensor({1, 2, 3}), b = tensor({3, 2, 1});
  check_values(eq(a, b), {0, 1, 0});
  check_values(ne(a, b), {1, 0, 1});
  check_values(lt(a, b), {1, 0, 0});
  check_values(le(a, b), {1, 1, 0});
  check_values(gt(a, b), {0, 0, 1});
  check_values(ge(a, b), {0, 1, 1});
  CHECK(eq(a, b).dtype() == kBool);
  check_values(logical_not(eq(a, b)), {1, 0, 1});
  check_values(where(gt(a, b), a, b), {3, 2, 3});
  check_values(a.masked_fill(int_tensor({1, 0, 1}), -1.0), {-1, 2, -1});
  const Tensor mask = tensor({1, 0, 1}).to(kBool);
  check_gradients([&](const auto& in) { return where(mask, in[0], in[1]); },
                  {random64({2, 3}, 41), random64({3}, 42)});
  check_gradients([&](const auto& in) { return in[0].masked_fill(mask, 7.0); },
                  {random64({2, 3}, 43)});
}

TEST_CASE("elementwise errors name the op, the shapes and the dtypes") {
  check_error([] { zeros({2, 3}) + zeros({4}); }, {"add", "(2, 3)", "(4,)", "broadcast"});
  check_error([] { zeros({2}) * zeros({2}, {kFloat64}); }, {"mul", "float32", "float64"});
  check_error([] { int_tensor({1}).exp(); }, {"exp", "int64"});
  check_error([] { gelu(zeros({2}), "fast"); }, {"gelu", "fast"});
  check_error([] { zeros({2}).clamp(2.0, 1.0); }, {"clamp", "larger"});
  check_error([] { where(zeros({2}), zeros({2}), zeros({2})); }, {"where", "bool"});
  check_error([] { zeros({2}).masked_fill(ones({3}), 1.0); }, {"masked_fill"});
  check_error([] { eq(zeros({2}), zeros({2}).to(kFloat64)); }, {"eq", "float64"});
}

TEST_CASE("fast float exp and tanh stay within a few ulp of libm's double results") {
  // Every 97th float32 from -80 to 80 for exp, and from -20 to 20 (plus tiny values) for tanh.
  double worst_exp = 0, worst_tanh = 0;
  for (float x = -80.0f; x <= 80.0f; x += 0.00097f) {
    const double exact = std::exp(double(x));
    worst_exp = std::max(worst_exp, std::abs(double(heed::cpu::vector_exp(x)) - exact) / exact);
  }
  auto check_tanh = [&](float x) {
    const double exact = std::tanh(double(x));
    if (exact != 0) {
      worst_tanh = std::max(worst_tanh,
                            std::abs(double(heed::cpu::vector_tanh(x)) - exact) / std::abs(exact));
    }
  };
  for (float x = -20.0f; x <= 20.0f; x += 0.00031f) check_tanh(x);
  for (float x = 1e-30f; x < 1.0f; x *= 1.37f) check_tanh(x), check_tanh(-x);
  CHECK(worst_exp < 2e-7);
  CHECK(worst_tanh < 3e-7);
  // Saturation, and the signs of zero-adjacent values.
  CHECK(heed::cpu::vector_tanh(30.0f) == 1.0f);
  CHECK(heed::cpu::vector_tanh(-30.0f) == -1.0f);
  CHECK(heed::cpu::vector_tanh(0.0f) == 0.0f);
}

TEST_CASE(
    "an op code a kernel does not know is a failure with a message, not an unwritten output") {
  const Tensor x = ones({4}), y = empty({4});
  const heed_view vx = ops::view_of(x), vy = ops::view_of(y);
  for (const heed_backend* table : {&cpu::backend(), &cpu::reference_backend()}) {
    CHECK(table->unary(HEED_UNARY_OP_COUNT, 0, 0, &vx, &vy) != 0);
    CHECK(std::string(table->last_error()).find("unknown op code") != std::string::npos);
    CHECK(table->binary(HEED_BINARY_OP_COUNT + 3, &vx, &vx, &vy) != 0);
    const Tensor rows = ones({2, 3}), out = empty({2});
    const heed_view vr = ops::view_of(rows), vo = ops::view_of(out);
    CHECK(table->reduce_rows(HEED_REDUCE_OP_COUNT, &vr, &vo) != 0);
    CHECK(table->reduce_rows(-1, &vr, &vo) != 0);
  }
  // Known codes still succeed, and the op layer turns a failure into a heed::Error.
  CHECK(cpu::backend().unary(HEED_NEG, 0, 0, &vx, &vy) == 0);
  check_close(y, full({4}, -1.0));
}
