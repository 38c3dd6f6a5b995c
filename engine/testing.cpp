// gradcheck and allclose: see testing.hpp.
#include "engine/testing.hpp"

#include <fmt/format.h>

#include <cmath>

#include "engine/autograd.hpp"
#include "engine/error.hpp"
#include "engine/generator.hpp"
#include "engine/ops/elementwise.hpp"
#include "engine/ops/reduce.hpp"

namespace heed::testing {

namespace {

// The index of flat element `flat` of a contiguous tensor of this shape: (i, j, ...).
Shape unravel(int64_t flat, const Shape& shape) {
  Shape index(shape.size(), 0);
  for (size_t d = shape.size(); d-- > 0;) {
    index[d] = flat % shape[d];
    flat /= shape[d];
  }
  return index;
}

// Element `flat` of a contiguous floating-point tensor, read and written in place.
double element(const Tensor& input, int64_t flat) {
  return input.dtype() == kFloat64 ? input.data_ptr<double>()[flat]
                                   : double(input.data_ptr<float>()[flat]);
}
void set_element(Tensor& input, int64_t flat, double value) {
  if (input.dtype() == kFloat64) {
    input.data_ptr<double>()[flat] = value;
  } else {
    input.data_ptr<float>()[flat] = static_cast<float>(value);
  }
}

}  // namespace

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                          std::vector<Tensor> inputs, std::optional<Tolerance> tolerance) {
  bool any_float32 = false;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Tensor& input = inputs[i];
    if (!input.defined() || !is_floating(input.dtype()) || !input.is_contiguous() ||
        input.device() != Device::cpu()) {
      fail("gradcheck: input {} must be a contiguous float32 or float64 tensor on the CPU, got {}",
           i,
           input.defined()
               ? fmt::format("{} {}{}{}", dtype_name(input.dtype()), shape_str(input.shape()),
                             input.is_contiguous() ? "" : " (not contiguous)",
                             input.device() == Device::cpu() ? "" : " on a device")
               : "an undefined tensor");
    }
    any_float32 = any_float32 || input.dtype() == kFloat32;
    input = input.detach();  // a leaf of its own, sharing the caller's values
    input.requires_grad_();
  }
  const Tolerance tol = tolerance.value_or(any_float32 ? kFloat32Tolerance : kFloat64Tolerance);
  GradcheckResult result;
  for (const Tensor& input : inputs) result.checked += input.numel();
  if (result.checked == 0) {
    result.passed = false;
    result.report = "gradcheck failed: no element to check (no inputs, or only empty ones)";
    return result;
  }
  result.checked = 0;  // counted again as they are checked

  const Tensor probe = f(inputs);  // f's output: only its shape and dtype are used
  Generator generator(1234);
  // w, fixed, of f's output shape
  const Tensor weights = probe.numel() == 1 ? ones(probe.shape(), {probe.dtype()})
                                            : randn(probe.shape(), {probe.dtype()}, &generator);
  const auto objective = [&] { return (f(inputs) * weights).sum(); };  // L = sum(f * w)
  objective().backward();

  NoGradGuard no_grad;
  double worst_excess = -INFINITY;  // |autograd - numeric| - (atol + rtol |numeric|)
  for (size_t i = 0; i < inputs.size(); ++i) {
    Tensor& input = inputs[i];
    const std::vector<double> analytic =
        input.grad().defined() ? input.grad().to_vector<double>()
                               : std::vector<double>(static_cast<size_t>(input.numel()), 0.0);
    std::vector<double> numerics(analytic.size());
    for (int64_t j = 0; j < input.numel(); ++j) {
      const double original = element(input, j);
      double plus = 0, minus = 0;
      try {
        set_element(input, j, original + tol.eps);
        plus = objective().item();
        set_element(input, j, original - tol.eps);
        minus = objective().item();
      } catch (...) {
        set_element(input, j, original);  // f threw: still hand the caller's values back
        throw;
      }
      set_element(input, j, original);  // exactly the caller's value again
      const double numeric = (plus - minus) / (2 * tol.eps);
      numerics[static_cast<size_t>(j)] = numeric;
      const double got = analytic[static_cast<size_t>(j)];
      const double excess = std::abs(got - numeric) - (tol.atol + tol.rtol * std::abs(numeric));
      ++result.checked;
      if (!(excess <= 0)) ++result.failed;  // NaN on either side fails
      const double score = std::isnan(excess) ? INFINITY : excess;
      if (score > worst_excess) {
        worst_excess = score;
        result.input = i;
        result.index = unravel(j, input.shape());
        result.analytic = got;
        result.numeric = numeric;
      }
    }
    result.analytic_gradients.push_back(tensor(analytic, input.shape(), {kFloat64}));
    result.numeric_gradients.push_back(tensor(numerics, input.shape(), {kFloat64}));
  }
  result.passed = result.failed == 0;
  const std::string where =
      fmt::format("input {} at {}: autograd {:.6g}, finite differences {:.6g}", result.input,
                  shape_str(result.index), result.analytic, result.numeric);
  result.report =
      result.passed ? fmt::format(
                          "gradcheck passed: {} elements (eps {:g}, atol {:g}, rtol {:g}); closest "
                          "to its tolerance: {}",
                          result.checked, tol.eps, tol.atol, tol.rtol, where)
                    : fmt::format(
                          "gradcheck failed: {} of {} elements (eps {:g}, atol {:g}, rtol {:g}); "
                          "worst: {}",
                          result.failed, result.checked, tol.eps, tol.atol, tol.rtol, where);
  return result;
}

AllcloseResult allclose(const Tensor& actual, const Tensor& expected, double atol, double rtol,
                        bool equal_nan) {
  AllcloseResult result;
  if (actual.shape() != expected.shape()) {
    result.close = false;
    result.report = fmt::format("allclose: shapes differ: {} against {}", shape_str(actual.shape()),
                                shape_str(expected.shape()));
    return result;
  }
  const std::vector<double> a = actual.detach().to_vector<double>();
  const std::vector<double> b = expected.detach().to_vector<double>();
  double worst_excess = -INFINITY;
  size_t worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == b[i] || (equal_nan && std::isnan(a[i]) && std::isnan(b[i]))) continue;
    const double excess = std::abs(a[i] - b[i]) - (atol + rtol * std::abs(b[i]));
    if (excess <= 0) continue;  // NaN on one side only is outside
    ++result.mismatches;
    const double score = std::isnan(excess) ? INFINITY : excess;
    if (score > worst_excess) {
      worst_excess = score;
      worst = i;
    }
  }
  result.close = result.mismatches == 0;
  if (result.close) {
    result.report =
        fmt::format("allclose: all {} elements within atol {:g}, rtol {:g}", a.size(), atol, rtol);
    return result;
  }
  result.index = unravel(static_cast<int64_t>(worst), actual.shape());
  result.actual = a[worst];
  result.expected = b[worst];
  result.report = fmt::format(
      "allclose: {} of {} elements differ (atol {:g}, rtol {:g}); worst at {}: {:.9g} against "
      "{:.9g}, shape {}",
      result.mismatches, a.size(), atol, rtol, shape_str(result.index), result.actual,
      result.expected, shape_str(actual.shape()));
  return result;
}

}  // namespace heed::testing
