// heed::testing: the checks heed's own tests use, for anyone who writes an op or a layer.
//
//   gradcheck  autograd's gradients against central differences, element by element
//   allclose   two tensors equal within |actual - expected| <= atol + rtol |expected|
//
// Both return a result that converts to bool and carries a one-line report naming the worst
// element, so they work with any test framework (or none):
//
//   const auto result = heed::testing::gradcheck(
//       [](const std::vector<Tensor>& in) { return mish(in[0]); }, {randn({3, 4}, {kFloat64})});
//   if (!result) fmt::print("{}\n", result.report);
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/tensor.hpp"

namespace heed::testing {

// eps: the finite-difference step; a gradient passes when |autograd - numeric| <= atol +
// rtol |numeric|.
struct Tolerance {
  double eps, atol, rtol;
};
// PyTorch's gradcheck defaults for float64; float32 rounds too much for them, so looser ones:
// loose enough that gradients below about 1e-2 pass whatever they are, so the float32 check
// complements the float64 one (same code, the other dtype's kernels), never replaces it.
inline constexpr Tolerance kFloat64Tolerance{1e-6, 1e-5, 1e-3};
inline constexpr Tolerance kFloat32Tolerance{1e-2, 1e-2, 2e-2};

struct GradcheckResult {
  bool passed = true;
  int64_t checked = 0;  // elements compared, over all inputs
  int64_t failed = 0;   // of those, outside the tolerance
  // The element furthest outside (or, if all pass, closest to) its tolerance:
  size_t input = 0;     // which input
  Shape index;          // its index within that input
  double analytic = 0;  // autograd's gradient there
  double numeric = 0;   // the central difference there
  std::string report;   // one line saying all of the above
  // Both gradients of every input, float64, each of its input's shape: to print or inspect.
  std::vector<Tensor> analytic_gradients, numeric_gradients;
  explicit operator bool() const { return passed; }
};

// Checks the gradients of sum(f(inputs) * w), w fixed random weights (so every output element
// counts, each differently; w = 1 when f returns a single element, whose gradient is then
// f's own), for every element of every input: autograd against
// (L(x + eps) - L(x - eps)) / 2 eps. Inputs must be floating-point and contiguous; they are made
// leaves that require grad, and nudged in place (restored afterwards). An input f does not use
// has gradient zero. Without a tolerance, kFloat64Tolerance, or kFloat32Tolerance when any input
// is float32. No element to check is a failure. Running f's backward also accumulates into the
// .grad of any tensor f closes over (a module's parameters): zero them afterwards if it matters.
GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                          std::vector<Tensor> inputs, std::optional<Tolerance> tolerance = {});

struct AllcloseResult {
  bool close = true;
  int64_t mismatches = 0;  // elements outside the tolerance
  Shape index;             // the worst element (empty if the shapes differ)
  double actual = 0, expected = 0;
  std::string report;
  explicit operator bool() const { return close; }
};

// Element by element |actual - expected| <= atol + rtol |expected|, as PyTorch's allclose with
// its defaults: equal values (infinities included) are close, and NaN is close to NaN only with
// equal_nan. Tensors of different shapes are never close.
AllcloseResult allclose(const Tensor& actual, const Tensor& expected, double atol = 1e-8,
                        double rtol = 1e-5, bool equal_nan = false);

}  // namespace heed::testing
