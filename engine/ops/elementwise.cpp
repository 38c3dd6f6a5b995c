// Elementwise ops. Each forward runs one backend map; each backward is written with other ops,
// so its math reads as a formula. Broadcast inputs get their gradient summed back (sum_to).
#include "engine/ops/elementwise.hpp"

#include <cmath>

#include "engine/ops/common.hpp"
#include "engine/ops/reduce.hpp"  // sum_to

namespace heed {

namespace {

// y = f(x) for the kernel's unary op; output contiguous, same dtype.
Tensor unary_kernel(const Tensor& x, int32_t op, double a = 0, double b = 0) {
  Tensor y = empty(x.shape(), {x.dtype(), x.device()});
  ops::call_kernel(x, &heed_backend::unary, "unary", op, a, b, x, y);
  return y;
}

// c = a (op) b with broadcasting; output contiguous of dtype out_dtype.
Tensor binary_kernel(std::string_view name, const Tensor& a, const Tensor& b, int32_t op,
                     std::optional<DType> out_dtype = std::nullopt) {
  ops::check_same_dtype_and_device(name, a, b);
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor c = empty(shape, {out_dtype.value_or(a.dtype()), a.device()});
  ops::call_kernel(a, &heed_backend::binary, "binary", op, a.expand(shape), b.expand(shape), c);
  return c;
}

void check_arithmetic(std::string_view op, const Tensor& a, const Tensor& b) {
  ops::check_same_dtype_and_device(op, a, b);
  if (a.dtype() == kBool)
    fail("{}: arithmetic on bool tensors is not supported; convert with .to()", op);
}

}  // namespace

Tensor scalar_like(const Tensor& like, double value) {
  return scalar_tensor(value, {like.dtype(), like.device()});
}

// ---- binary arithmetic ----

Tensor add(const Tensor& a, const Tensor& b) {
  const profiler::Scope profiled("add");
  check_arithmetic("add", a, b);
  Tensor c = binary_kernel("add", a, b, HEED_ADD);
  return record(c, "add", {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& dc) {
    // c = a + b: da = dc, db = dc (each summed back over broadcast dims)
    return std::vector<Tensor>{sum_to(dc, sa), sum_to(dc, sb)};
  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  const profiler::Scope profiled("sub");
  check_arithmetic("sub", a, b);
  Tensor c = binary_kernel("sub", a, b, HEED_SUB);
  return record(c, "sub", {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& dc) {
    // c = a - b: da = dc, db = -dc
    return std::vector<Tensor>{sum_to(dc, sa), sum_to(-dc, sb)};
  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  const profiler::Scope profiled("mul");
  check_arithmetic("mul", a, b);
  Tensor c = binary_kernel("mul", a, b, HEED_MUL);
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  // Each gradient reads the other input, so save an input only when the other one needs grad.
  const Tensor saved_a = need_b ? a.detach() : Tensor(), saved_b = need_a ? b.detach() : Tensor();
  return record(
      c, "mul", {a, b}, [saved_a, saved_b, sa = a.shape(), sb = b.shape()](const Tensor& dc) {
        // c = a * b: da = dc * b, db = dc * a
        return std::vector<Tensor>{saved_b.defined() ? sum_to(dc * saved_b, sa) : Tensor(),
                                   saved_a.defined() ? sum_to(dc * saved_a, sb) : Tensor()};
      });
}

Tensor div(const Tensor& a, const Tensor& b) {
  const profiler::Scope profiled("div");
  check_arithmetic("div", a, b);
  Tensor c = binary_kernel("div", a, b, HEED_DIV);
  // a is read only by b's gradient: a scaled by a constant (scores / sqrt(d)) saves nothing of a.
  const Tensor saved_a = b.requires_grad() ? a.detach() : Tensor();
  return record(c, "div", {a, b}, [saved_a, b = b.detach(), sa = a.shape()](const Tensor& dc) {
    // c = a / b: da = dc / b, db = -dc * a / b^2
    return std::vector<Tensor>{sum_to(dc / b, sa), saved_a.defined()
                                                       ? sum_to(-dc * saved_a / (b * b), b.shape())
                                                       : Tensor()};
  });
}

Tensor pow(const Tensor& base, const Tensor& exponent) {
  const profiler::Scope profiled("pow");
  check_arithmetic("pow", base, exponent);
  ops::check_floating("pow", base);
  Tensor c = binary_kernel("pow", base, exponent, HEED_POW);
  const bool need_exponent = exponent.requires_grad();
  return record(
      c, "pow", {base, exponent},
      [a = base.detach(), b = exponent.detach(), c = c.detach(), need_exponent](const Tensor& dc) {
        // c = a^b: da = dc * b * a^(b-1), db = dc * c * log(a)
        return std::vector<Tensor>{sum_to(dc * b * pow(a, b - 1.0), a.shape()),
                                   need_exponent ? sum_to(dc * c * log(a), b.shape()) : Tensor()};
      });
}

Tensor pow(const Tensor& base, double exponent) {
  const profiler::Scope profiled("pow");
  ops::check_floating("pow", base);
  Tensor y = unary_kernel(base, HEED_POW_SCALAR, exponent);
  return record(y, "pow", {base}, [x = base.detach(), exponent](const Tensor& dy) {
    // y = x^p: dx = dy * p * x^(p-1)
    return std::vector<Tensor>{dy * exponent * pow(x, exponent - 1)};
  });
}

Tensor maximum(const Tensor& a, const Tensor& b) {
  const profiler::Scope profiled("maximum");
  check_arithmetic("maximum", a, b);
  Tensor c = binary_kernel("maximum", a, b, HEED_MAXIMUM);
  return record(c, "maximum", {a, b}, [a = a.detach(), b = b.detach()](const Tensor& dc) {
    // c = max(a, b): the gradient goes to the larger input (to a on ties)
    const Tensor a_wins = ge(a, b);
    const Tensor zero = scalar_like(dc, 0);
    return std::vector<Tensor>{sum_to(where(a_wins, dc, zero), a.shape()),
                               sum_to(where(a_wins, zero, dc), b.shape())};
  });
}

Tensor minimum(const Tensor& a, const Tensor& b) {
  const profiler::Scope profiled("minimum");
  check_arithmetic("minimum", a, b);
  Tensor c = binary_kernel("minimum", a, b, HEED_MINIMUM);
  return record(c, "minimum", {a, b}, [a = a.detach(), b = b.detach()](const Tensor& dc) {
    // c = min(a, b): the gradient goes to the smaller input (to a on ties)
    const Tensor a_wins = le(a, b);
    const Tensor zero = scalar_like(dc, 0);
    return std::vector<Tensor>{sum_to(where(a_wins, dc, zero), a.shape()),
                               sum_to(where(a_wins, zero, dc), b.shape())};
  });
}

// ---- unary ----

Tensor neg(const Tensor& x) {
  const profiler::Scope profiled("neg");
  ops::check_defined("neg", x, "x");
  if (x.dtype() == kBool) fail("neg: negation of a bool tensor is not supported; use logical_not");
  if (x.dtype() == kInt64) return binary_kernel("neg", scalar_like(x, 0), x, HEED_SUB);
  Tensor y = unary_kernel(x, HEED_NEG);
  return record(y, "neg", {x}, [](const Tensor& dy) {
    // y = -x: dx = -dy
    return std::vector<Tensor>{-dy};
  });
}

Tensor exp(const Tensor& x) {
  const profiler::Scope profiled("exp");
  ops::check_floating("exp", x);
  Tensor y = unary_kernel(x, HEED_EXP);
  return record(y, "exp", {x}, [y = y.detach()](const Tensor& dy) {
    // y = exp(x): dx = dy * y
    return std::vector<Tensor>{dy * y};
  });
}

Tensor log(const Tensor& x) {
  const profiler::Scope profiled("log");
  ops::check_floating("log", x);
  Tensor y = unary_kernel(x, HEED_LOG);
  return record(y, "log", {x}, [x = x.detach()](const Tensor& dy) {
    // y = log(x): dx = dy / x
    return std::vector<Tensor>{dy / x};
  });
}

Tensor sqrt(const Tensor& x) {
  const profiler::Scope profiled("sqrt");
  ops::check_floating("sqrt", x);
  Tensor y = unary_kernel(x, HEED_SQRT);
  return record(y, "sqrt", {x}, [y = y.detach()](const Tensor& dy) {
    // y = sqrt(x): dx = dy / (2 y)
    return std::vector<Tensor>{dy / (2.0 * y)};
  });
}

Tensor abs(const Tensor& x) {
  const profiler::Scope profiled("abs");
  ops::check_floating("abs", x);
  Tensor y = unary_kernel(x, HEED_ABS);
  return record(y, "abs", {x}, [x = x.detach()](const Tensor& dy) {
    // y = abs(x): dx = dy * sign(x)
    return std::vector<Tensor>{dy * unary_kernel(x, HEED_SIGN)};
  });
}

Tensor tanh(const Tensor& x) {
  const profiler::Scope profiled("tanh");
  ops::check_floating("tanh", x);
  Tensor y = unary_kernel(x, HEED_TANH);
  return record(y, "tanh", {x}, [y = y.detach()](const Tensor& dy) {
    // y = tanh(x): dx = dy * (1 - y^2)
    return std::vector<Tensor>{dy * (1.0 - y * y)};
  });
}

Tensor sigmoid(const Tensor& x) {
  const profiler::Scope profiled("sigmoid");
  ops::check_floating("sigmoid", x);
  Tensor y = unary_kernel(x, HEED_SIGMOID);
  return record(y, "sigmoid", {x}, [y = y.detach()](const Tensor& dy) {
    // y = sigmoid(x): dx = dy * y * (1 - y)
    return std::vector<Tensor>{dy * y * (1.0 - y)};
  });
}

Tensor relu(const Tensor& x) {
  const profiler::Scope profiled("relu");
  ops::check_floating("relu", x);
  Tensor y = unary_kernel(x, HEED_RELU);
  return record(y, "relu", {x}, [x = x.detach()](const Tensor& dy) {
    // y = max(x, 0): dx = dy where x > 0, else 0
    return std::vector<Tensor>{where(gt(x, scalar_like(x, 0)), dy, scalar_like(dy, 0))};
  });
}

Tensor gelu(const Tensor& x, std::string_view approximate) {
  const profiler::Scope profiled("gelu");
  ops::check_floating("gelu", x);
  if (approximate != "none" && approximate != "tanh") {
    fail("gelu: approximate must be \"none\" or \"tanh\", got \"{}\"", approximate);
  }
  const bool tanh_form = approximate == "tanh";
  Tensor y = unary_kernel(x, tanh_form ? HEED_GELU_TANH : HEED_GELU_EXACT);
  return record(y, "gelu", {x}, [x = x.detach(), tanh_form](const Tensor& dy) {
    // y = x Phi(x): dx = dy * (Phi(x) + x phi(x)); the tanh form differentiates its approximation
    const int32_t derivative = tanh_form ? HEED_GELU_TANH_DERIVATIVE : HEED_GELU_EXACT_DERIVATIVE;
    return std::vector<Tensor>{dy * unary_kernel(x, derivative)};
  });
}

Tensor log1p(const Tensor& x) {
  const profiler::Scope profiled("log1p");
  ops::check_floating("log1p", x);
  Tensor y = unary_kernel(x, HEED_LOG1P);
  return record(y, "log1p", {x}, [x = x.detach()](const Tensor& dy) {
    // y = log(1 + x): dx = dy / (1 + x)
    return std::vector<Tensor>{dy / (x + 1.0)};
  });
}

Tensor expm1(const Tensor& x) {
  const profiler::Scope profiled("expm1");
  ops::check_floating("expm1", x);
  Tensor y = unary_kernel(x, HEED_EXPM1);
  return record(y, "expm1", {x}, [y = y.detach()](const Tensor& dy) {
    // y = exp(x) - 1: dx = dy * (y + 1)
    return std::vector<Tensor>{dy * (y + 1.0)};
  });
}

Tensor sin(const Tensor& x) {
  const profiler::Scope profiled("sin");
  ops::check_floating("sin", x);
  Tensor y = unary_kernel(x, HEED_SIN);
  return record(y, "sin", {x}, [x = x.detach()](const Tensor& dy) {
    // y = sin(x): dx = dy * cos(x)
    return std::vector<Tensor>{dy * unary_kernel(x, HEED_COS)};
  });
}

Tensor cos(const Tensor& x) {
  const profiler::Scope profiled("cos");
  ops::check_floating("cos", x);
  Tensor y = unary_kernel(x, HEED_COS);
  return record(y, "cos", {x}, [x = x.detach()](const Tensor& dy) {
    // y = cos(x): dx = -dy * sin(x)
    return std::vector<Tensor>{-(dy * unary_kernel(x, HEED_SIN))};
  });
}

Tensor erf(const Tensor& x) {
  const profiler::Scope profiled("erf");
  ops::check_floating("erf", x);
  Tensor y = unary_kernel(x, HEED_ERF);
  return record(y, "erf", {x}, [x = x.detach()](const Tensor& dy) {
    // y = erf(x): dx = dy * 2 / sqrt(pi) * exp(-x^2)
    return std::vector<Tensor>{dy * (unary_kernel(-(x * x), HEED_EXP) * (2.0 / std::sqrt(M_PI)))};
  });
}

Tensor silu(const Tensor& x) {
  const profiler::Scope profiled("silu");
  ops::check_floating("silu", x);
  Tensor y = unary_kernel(x, HEED_SILU);
  return record(y, "silu", {x}, [x = x.detach()](const Tensor& dy) {
    // y = x s, s = sigmoid(x): dx = dy * s (1 + x (1 - s))
    return std::vector<Tensor>{dy * unary_kernel(x, HEED_SILU_DERIVATIVE)};
  });
}

Tensor softplus(const Tensor& x, double beta, double threshold) {
  const profiler::Scope profiled("softplus");
  ops::check_floating("softplus", x);
  if (!std::isfinite(beta) || beta == 0) {
    fail("softplus: beta must be a finite number other than 0, got {}", beta);
  }
  if (std::isnan(threshold)) fail("softplus: threshold must be a number, got nan");
  Tensor y = unary_kernel(x, HEED_SOFTPLUS, beta, threshold);
  return record(y, "softplus", {x}, [x = x.detach(), beta, threshold](const Tensor& dy) {
    // y = log(1 + exp(b x)) / b: dx = dy * sigmoid(b x), and dy where b x > threshold (y = x)
    return std::vector<Tensor>{dy * unary_kernel(x, HEED_SOFTPLUS_DERIVATIVE, beta, threshold)};
  });
}

Tensor clamp(const Tensor& x, std::optional<double> min, std::optional<double> max) {
  const profiler::Scope profiled("clamp");
  ops::check_floating("clamp", x);
  if (!min && !max) fail("clamp: at least one of min and max must be given");
  const double lo = min.value_or(-INFINITY), hi = max.value_or(INFINITY);
  if (lo > hi) fail("clamp: min {} is larger than max {}", lo, hi);
  Tensor y = unary_kernel(x, HEED_CLAMP, lo, hi);
  return record(y, "clamp", {x}, [x = x.detach(), lo, hi](const Tensor& dy) {
    // y = clamp(x, lo, hi): dx = dy where lo <= x <= hi, else 0
    const Tensor inside = unary_kernel(x, HEED_CLAMP, lo, hi);
    return std::vector<Tensor>{where(eq(inside, x), dy, scalar_like(dy, 0))};
  });
}

// ---- comparisons and selection ----

Tensor eq(const Tensor& a, const Tensor& b) {
  const profiler::Scope profiled("eq");
  return binary_kernel("eq", a, b, HEED_EQ, kBool);
}
Tensor ne(const Tensor& a, const Tensor& b) {
  const profiler::Scope profiled("ne");
  return binary_kernel("ne", a, b, HEED_NE, kBool);
}
Tensor lt(const Tensor& a, const Tensor& b) {
  const profiler::Scope profiled("lt");
  return binary_kernel("lt", a, b, HEED_LT, kBool);
}
Tensor le(const Tensor& a, const Tensor& b) {
  const profiler::Scope profiled("le");
  return binary_kernel("le", a, b, HEED_LE, kBool);
}
Tensor gt(const Tensor& a, const Tensor& b) {
  const profiler::Scope profiled("gt");
  return binary_kernel("gt", a, b, HEED_GT, kBool);
}
Tensor ge(const Tensor& a, const Tensor& b) {
  const profiler::Scope profiled("ge");
  return binary_kernel("ge", a, b, HEED_GE, kBool);
}

Tensor logical_not(const Tensor& condition) {
  const profiler::Scope profiled("logical_not");
  ops::check_dtype("logical_not", condition, kBool, "condition");
  return unary_kernel(condition, HEED_LOGICAL_NOT);
}

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  const profiler::Scope profiled("where");
  ops::check_dtype("where", condition, kBool, "condition");
  ops::check_same_dtype_and_device("where", a, b);
  const Shape shape =
      broadcast_shapes(broadcast_shapes(condition.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor out = empty(shape, {a.dtype(), a.device()});
  ops::call_kernel(a, &heed_backend::where, "where", condition.expand(shape), a.expand(shape),
                   b.expand(shape), out);
  return record(
      out, "where", {a, b}, [c = condition, sa = a.shape(), sb = b.shape()](const Tensor& dy) {
        // y = c ? a : b: da = dy where c, db = dy where not c
        const Tensor zero = scalar_like(dy, 0);
        return std::vector<Tensor>{sum_to(where(c, dy, zero), sa), sum_to(where(c, zero, dy), sb)};
      });
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  const profiler::Scope profiled("masked_fill");
  ops::check_defined("masked_fill", mask, "mask");
  const Tensor condition = mask.dtype() == kBool ? mask : ne(mask, scalar_like(mask, 0));
  if (!broadcasts_to(mask.shape(), x.shape())) {
    fail("masked_fill: mask of shape {} must broadcast to the input's shape {}",
         shape_str(mask.shape()), shape_str(x.shape()));
  }
  return where(condition, scalar_like(x, value), x);
}

// ---- operators ----

Tensor operator+(const Tensor& a, const Tensor& b) {
  return add(a, b);
}
Tensor operator-(const Tensor& a, const Tensor& b) {
  return sub(a, b);
}
Tensor operator*(const Tensor& a, const Tensor& b) {
  return mul(a, b);
}
Tensor operator/(const Tensor& a, const Tensor& b) {
  return div(a, b);
}
Tensor operator-(const Tensor& x) {
  return neg(x);
}
Tensor operator+(const Tensor& a, double b) {
  return add(a, scalar_like(a, b));
}
Tensor operator-(const Tensor& a, double b) {
  return sub(a, scalar_like(a, b));
}
Tensor operator*(const Tensor& a, double b) {
  return mul(a, scalar_like(a, b));
}
Tensor operator/(const Tensor& a, double b) {
  return div(a, scalar_like(a, b));
}
Tensor operator+(double a, const Tensor& b) {
  return add(scalar_like(b, a), b);
}
Tensor operator-(double a, const Tensor& b) {
  return sub(scalar_like(b, a), b);
}
Tensor operator*(double a, const Tensor& b) {
  return mul(scalar_like(b, a), b);
}
Tensor operator/(double a, const Tensor& b) {
  return div(scalar_like(b, a), b);
}

// ---- Tensor methods ----

Tensor Tensor::add(const Tensor& other) const {
  return heed::add(*this, other);
}
Tensor Tensor::exp() const {
  return heed::exp(*this);
}
Tensor Tensor::log() const {
  return heed::log(*this);
}
Tensor Tensor::sqrt() const {
  return heed::sqrt(*this);
}
Tensor Tensor::abs() const {
  return heed::abs(*this);
}
Tensor Tensor::tanh() const {
  return heed::tanh(*this);
}
Tensor Tensor::sigmoid() const {
  return heed::sigmoid(*this);
}
Tensor Tensor::relu() const {
  return heed::relu(*this);
}
Tensor Tensor::neg() const {
  return heed::neg(*this);
}
Tensor Tensor::pow(double exponent) const {
  return heed::pow(*this, exponent);
}
Tensor Tensor::pow(const Tensor& exponent) const {
  return heed::pow(*this, exponent);
}
Tensor Tensor::clamp(std::optional<double> min, std::optional<double> max) const {
  return heed::clamp(*this, min, max);
}
Tensor Tensor::masked_fill(const Tensor& mask, double value) const {
  return heed::masked_fill(*this, mask, value);
}

}  // namespace heed
