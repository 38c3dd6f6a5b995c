// heed::testing's own checks: gradcheck and allclose pass what is right, fail what is wrong with
// a report naming the worst element, and refuse inputs they cannot check.
#include "helpers.hpp"

using namespace heed;
using namespace heed::testing;

namespace {

// x * y with a backward that is right for x and wrong for y at one element (1, 2): a custom op
// as a user would write it, with a planted mistake.
Tensor product_with_wrong_gradient(const Tensor& x, const Tensor& y) {
  const Tensor xd = x.detach(), yd = y.detach();
  Tensor out;
  {
    NoGradGuard no_grad;
    out = xd * yd;
  }
  return record(out, "product_with_wrong_gradient", {x, y}, [xd, yd](const Tensor& dy) {
    Tensor mistake = zeros(yd.shape(), {yd.dtype()});
    {
      NoGradGuard no_grad;
      mistake.select(0, 1).select(0, 2).fill_(0.5);
    }
    // right: dx = dy * y, dy_in = dy * x; the second is off by 0.5 at (1, 2)
    return std::vector<Tensor>{dy * yd, dy * xd + mistake};
  });
}

}  // namespace

TEST_CASE("testing::gradcheck passes a right backward and names the worst element of a wrong one") {
  const Tensor x = random64({3, 4}, 1), y = random64({3, 4}, 2);
  const GradcheckResult right =
      gradcheck([](const std::vector<Tensor>& in) { return in[0] * in[1]; }, {x, y});
  INFO(right.report);
  CHECK(right.passed);
  CHECK(right.checked == 24);
  CHECK(right.report.find("gradcheck passed: 24 elements (eps 1e-06, atol 1e-05, rtol 0.001)") !=
        std::string::npos);

  const GradcheckResult wrong = gradcheck(
      [](const std::vector<Tensor>& in) { return product_with_wrong_gradient(in[0], in[1]); },
      {x, y});
  INFO(wrong.report);
  CHECK_FALSE(wrong.passed);
  CHECK(wrong.input == 1);
  CHECK(wrong.index == Shape{1, 2});
  CHECK(std::abs(wrong.analytic - wrong.numeric) > 0.1);  // the planted error, times a weight
  CHECK(wrong.failed == 1);                               // only the planted element
  CHECK(wrong.report.find("gradcheck failed: 1 of 24 elements") != std::string::npos);
  CHECK(wrong.report.find("input 1 at (1, 2)") != std::string::npos);
  // The caller's tensors come back with their values and without a gradient of their own.
  check_close(x, random64({3, 4}, 1), 0, 0);
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("testing::gradcheck: float32 tolerances by default, an unused input, and bad inputs") {
  const Tensor x = random64({2, 3}, 3).to(kFloat32);
  const GradcheckResult loose =
      gradcheck([](const std::vector<Tensor>& in) { return in[0].tanh(); }, {x});
  INFO(loose.report);
  CHECK(loose.passed);
  CHECK(loose.report.find("eps 0.01, atol 0.01, rtol 0.02") != std::string::npos);
  // An input f never reads has gradient zero, and finite differences agree.
  const GradcheckResult unused =
      gradcheck([](const std::vector<Tensor>& in) { return in[0] * 2.0; },
                {random64({2}, 4), random64({3}, 5)});
  INFO(unused.report);
  CHECK(unused.passed);
  CHECK(unused.checked == 5);
  // Nothing to check is no pass, and a throwing f leaves the caller's values as they were.
  const GradcheckResult nothing =
      gradcheck([](const std::vector<Tensor>&) { return zeros({1}, {kFloat64}); }, {});
  CHECK_FALSE(nothing.passed);
  CHECK(nothing.report.find("no element to check") != std::string::npos);
  const Tensor kept = random64({3}, 8);
  int calls = 0;
  CHECK_THROWS_AS((void)gradcheck(
                      [&](const std::vector<Tensor>& in) {
                        if (++calls == 3) fail("thrown on purpose");  // while an element is nudged
                        return in[0] * 2.0;
                      },
                      {kept}),
                  Error);
  check_close(kept, random64({3}, 8), 0, 0);

  const auto square = [](const std::vector<Tensor>& in) { return in[0] * in[0]; };
  check_error(
      [&] {
        (void)gradcheck(square, {random64({3, 4}, 6).t()});
      },
      {"gradcheck: input 0 must be a contiguous float32 or float64 tensor",
       "float64 (4, 3) (not contiguous)"});
  check_error(
      [&] {
        (void)gradcheck(square, {random64({3}, 7), arange(int64_t{3})});
      },
      {"gradcheck: input 1", "got int64 (3,)"});
  check_error([&] { (void)gradcheck(square, {Tensor()}); }, {"an undefined tensor"});
}

TEST_CASE("testing::allclose: counts the mismatches, names the worst, NaN equals only NaN") {
  const Tensor expected = tensor({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, {kFloat64}).reshape({2, 3});
  CHECK(allclose(expected.clone(), expected));
  CHECK(allclose(expected + 1e-9, expected));  // inside the default atol 1e-8

  const Tensor off = tensor({1.0, 2.0, 3.5, 4.0, 5.0, 6.01}, {kFloat64}).reshape({2, 3});
  const AllcloseResult result = allclose(off, expected);
  INFO(result.report);
  CHECK_FALSE(result.close);
  CHECK(result.mismatches == 2);
  CHECK(result.index == Shape{0, 2});  // 0.5 off beats 0.01 off
  CHECK(result.actual == 3.5);
  CHECK(result.expected == 3.0);
  CHECK(result.report.find("2 of 6 elements differ") != std::string::npos);
  CHECK(allclose(off, expected, 0.6, 0));  // a wider atol takes both

  const Tensor with_nan = tensor({1.0, NAN}, {kFloat64});
  CHECK_FALSE(allclose(with_nan, with_nan.clone()));  // PyTorch's default: equal_nan=False
  CHECK(allclose(with_nan, with_nan.clone(), 1e-8, 1e-5, /*equal_nan=*/true));
  const Tensor infinite = tensor({INFINITY, -INFINITY}, {kFloat64});
  CHECK(allclose(infinite, infinite.clone()));  // equal infinities are close
  CHECK_FALSE(allclose(infinite, tensor({INFINITY, INFINITY}, {kFloat64})));
  const AllcloseResult nan_against_number = allclose(with_nan, tensor({1.0, 2.0}, {kFloat64}));
  CHECK_FALSE(nan_against_number.close);
  CHECK(nan_against_number.index == Shape{1});

  const AllcloseResult shapes = allclose(expected, expected.reshape({3, 2}));
  CHECK_FALSE(shapes.close);
  CHECK(shapes.report == "allclose: shapes differ: (2, 3) against (3, 2)");
}
