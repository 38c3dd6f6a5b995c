// CPU elementwise kernels: copy/convert, fill, unary and binary maps, where.
#include <cmath>
#include <cstring>

#include "engine/cpu/fast_math.hpp"
#include "engine/cpu/kernels.hpp"
#include "engine/cpu/strided.hpp"

namespace heed::cpu {

namespace {

constexpr double kSqrtHalf = 0.70710678118654752440;
constexpr double kSqrtTwoOverPi = 0.79788456080286535588;
constexpr double kInvSqrtTwoPi = 0.39894228040143267794;

// Applies y = f(x) over two views of one shape.
// The contiguous case of a unary map, also compiled for AVX2 (see fast_math.hpp): GELU, exp
// and friends are arithmetic-bound, so the wider vectors pay.
template <typename In, typename Out, typename F>
HEED_ALSO_FOR_AVX2 void map_contiguous(const In* a, Out* b, int64_t count, F f) {
  for (int64_t i = 0; i < count; ++i) b[i] = f(a[i]);
}

template <typename In, typename Out, typename F>
void map_unary(const heed_view* x, const heed_view* y, F f) {
  const In* in = typed<In>(x);
  Out* out = typed<Out>(y);
  StridedWalk<2>({x, y}).for_each_run_parallel([&](auto offsets, int64_t count, auto steps) {
    const In* a = in + offsets[0];
    Out* b = out + offsets[1];
    if (steps[0] == 1 && steps[1] == 1) {
      map_contiguous(a, b, count, f);
    } else {
      for (int64_t i = 0; i < count; ++i) b[i * steps[1]] = f(a[i * steps[0]]);
    }
  });
}

template <typename In, typename Out, typename F>
void map_binary(const heed_view* x, const heed_view* y, const heed_view* z, F f) {
  const In* a = typed<In>(x);
  const In* b = typed<In>(y);
  Out* c = typed<Out>(z);
  StridedWalk<3>({x, y, z}).for_each_run_parallel([&](auto offsets, int64_t count, auto steps) {
    const In* pa = a + offsets[0];
    const In* pb = b + offsets[1];
    Out* pc = c + offsets[2];
    if (steps[0] == 1 && steps[1] == 1 && steps[2] == 1) {
      for (int64_t i = 0; i < count; ++i) pc[i] = f(pa[i], pb[i]);
    } else if (steps[0] == 1 && steps[1] == 0 && steps[2] == 1) {
      const In scalar = pb[0];
      for (int64_t i = 0; i < count; ++i) pc[i] = f(pa[i], scalar);
    } else {
      for (int64_t i = 0; i < count; ++i) pc[i * steps[2]] = f(pa[i * steps[0]], pb[i * steps[1]]);
    }
  });
}

template <typename T>
T gelu_exact(T x) {
  return T(0.5) * x * (T(1) + std::erf(x * T(kSqrtHalf)));
}
template <typename T>
T gelu_tanh(T x) {
  return T(0.5) * x * (T(1) + vector_tanh(T(kSqrtTwoOverPi) * (x + T(0.044715) * x * x * x)));
}
// d/dx [x Phi(x)] = Phi(x) + x phi(x)
template <typename T>
T gelu_exact_derivative(T x) {
  const T cdf = T(0.5) * (T(1) + std::erf(x * T(kSqrtHalf)));
  const T pdf = T(kInvSqrtTwoPi) * std::exp(T(-0.5) * x * x);
  return cdf + x * pdf;
}
// d/dx [0.5 x (1 + tanh(u))], u = c (x + 0.044715 x^3): 0.5 (1 + t) + 0.5 x (1 - t^2) u'
template <typename T>
T gelu_tanh_derivative(T x) {
  const T u = T(kSqrtTwoOverPi) * (x + T(0.044715) * x * x * x);
  const T t = vector_tanh(u);
  const T du = T(kSqrtTwoOverPi) * (T(1) + T(3 * 0.044715) * x * x);
  return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * du;
}

template <typename T>
void run_unary(int32_t op, T a, T b, const heed_view* x, const heed_view* y, bool& known) {
  switch (op) {
    case HEED_NEG:
      return map_unary<T, T>(x, y, [](T v) { return -v; });
    case HEED_EXP:
      return map_unary<T, T>(x, y, [](T v) { return vector_exp(v); });
    case HEED_LOG:
      return map_unary<T, T>(x, y, [](T v) { return std::log(v); });
    case HEED_SQRT:
      return map_unary<T, T>(x, y, [](T v) { return std::sqrt(v); });
    case HEED_ABS:
      return map_unary<T, T>(x, y, [](T v) { return std::abs(v); });
    case HEED_SIGN:
      return map_unary<T, T>(x, y, [](T v) { return T((v > T(0)) - (v < T(0))); });
    case HEED_TANH:
      return map_unary<T, T>(x, y, [](T v) { return vector_tanh(v); });
    case HEED_SIGMOID:
      return map_unary<T, T>(x, y, [](T v) { return T(1) / (T(1) + vector_exp(-v)); });
    case HEED_RELU:
      return map_unary<T, T>(x, y, [](T v) { return v > T(0) ? v : T(0); });
    case HEED_GELU_EXACT:
      return map_unary<T, T>(x, y, gelu_exact<T>);
    case HEED_GELU_TANH:
      return map_unary<T, T>(x, y, [](T v) { return gelu_tanh(v); });  // inlined: vectorizes
    case HEED_GELU_EXACT_DERIVATIVE:
      return map_unary<T, T>(x, y, gelu_exact_derivative<T>);
    case HEED_GELU_TANH_DERIVATIVE:
      return map_unary<T, T>(x, y, [](T v) { return gelu_tanh_derivative(v); });
    case HEED_POW_SCALAR:
      if (a == T(2)) return map_unary<T, T>(x, y, [](T v) { return v * v; });
      return map_unary<T, T>(x, y, [a](T v) { return std::pow(v, a); });
    case HEED_CLAMP:
      return map_unary<T, T>(x, y, [a, b](T v) { return std::fmin(std::fmax(v, a), b); });
    case HEED_LOG1P:
      return map_unary<T, T>(x, y, [](T v) { return std::log1p(v); });
    case HEED_EXPM1:
      return map_unary<T, T>(x, y, [](T v) { return std::expm1(v); });
    case HEED_SIN:
      return map_unary<T, T>(x, y, [](T v) { return std::sin(v); });
    case HEED_COS:
      return map_unary<T, T>(x, y, [](T v) { return std::cos(v); });
    case HEED_ERF:
      return map_unary<T, T>(x, y, [](T v) { return std::erf(v); });
    // Below -80, exp(-v) leaves vector_exp's range (it saturates near float's limit); there
    // silu(v) = v e^v / (1 + e^v) is v e^v to far below rounding, and its derivative e^v (1 + v).
    case HEED_SILU:
      return map_unary<T, T>(
          x, y, [](T v) { return v < T(-80) ? v * std::exp(v) : v / (T(1) + vector_exp(-v)); });
    case HEED_SILU_DERIVATIVE:
      return map_unary<T, T>(x, y, [](T v) {
        if (v < T(-80)) return std::exp(v) * (T(1) + v);
        const T s = T(1) / (T(1) + vector_exp(-v));
        return s * (T(1) + v * (T(1) - s));
      });
    case HEED_SOFTPLUS:  // PyTorch's: linear above the threshold, where exp would overflow
      return map_unary<T, T>(
          x, y, [a, b](T v) { return a * v > b ? v : std::log1p(std::exp(a * v)) / a; });
    case HEED_SOFTPLUS_DERIVATIVE:
      return map_unary<T, T>(
          x, y, [a, b](T v) { return a * v > b ? T(1) : T(1) / (T(1) + std::exp(-a * v)); });
    default:
      known = false;  // an op code with no case here: the caller reports it
  }
}

template <typename T>
void run_arithmetic(int32_t op, const heed_view* a, const heed_view* b, const heed_view* c,
                    bool& known) {
  switch (op) {
    case HEED_ADD:
      return map_binary<T, T>(a, b, c, [](T p, T q) { return p + q; });
    case HEED_SUB:
      return map_binary<T, T>(a, b, c, [](T p, T q) { return p - q; });
    case HEED_MUL:
      return map_binary<T, T>(a, b, c, [](T p, T q) { return p * q; });
    case HEED_DIV:
      return map_binary<T, T>(a, b, c, [](T p, T q) { return p / q; });
    case HEED_POW:
      return map_binary<T, T>(a, b, c, [](T p, T q) { return static_cast<T>(std::pow(p, q)); });
    case HEED_MAXIMUM:
      return map_binary<T, T>(a, b, c, [](T p, T q) { return p > q ? p : q; });
    case HEED_MINIMUM:
      return map_binary<T, T>(a, b, c, [](T p, T q) { return p < q ? p : q; });
    default:
      known = false;  // an op code with no case here: the caller reports it
  }
}

template <typename T>
void run_comparison(int32_t op, const heed_view* a, const heed_view* b, const heed_view* c,
                    bool& known) {
  switch (op) {
    case HEED_EQ:
      return map_binary<T, bool>(a, b, c, [](T p, T q) { return p == q; });
    case HEED_NE:
      return map_binary<T, bool>(a, b, c, [](T p, T q) { return p != q; });
    case HEED_LT:
      return map_binary<T, bool>(a, b, c, [](T p, T q) { return p < q; });
    case HEED_LE:
      return map_binary<T, bool>(a, b, c, [](T p, T q) { return p <= q; });
    case HEED_GT:
      return map_binary<T, bool>(a, b, c, [](T p, T q) { return p > q; });
    case HEED_GE:
      return map_binary<T, bool>(a, b, c, [](T p, T q) { return p >= q; });
    default:
      known = false;  // an op code with no case here: the caller reports it
  }
}

}  // namespace

int copy(const heed_view* src, const heed_view* dst) {
  visit_any(src->dtype, [&](auto src_zero) {
    using From = decltype(src_zero);
    visit_any(dst->dtype, [&](auto dst_zero) {
      using To = decltype(dst_zero);
      map_unary<From, To>(src, dst, [](From v) { return static_cast<To>(v); });
    });
  });
  return 0;
}

int fill(const heed_view* dst, double value) {
  visit_any(dst->dtype, [&](auto zero) {
    using T = decltype(zero);
    const T v = static_cast<T>(value);
    T* out = typed<T>(dst);
    StridedWalk<1>({dst}).for_each_run_parallel([&](auto offsets, int64_t count, auto steps) {
      for (int64_t i = 0; i < count; ++i) out[offsets[0] + i * steps[0]] = v;
    });
  });
  return 0;
}

int unary(int32_t op, double a, double b, const heed_view* x, const heed_view* y) {
  if (op == HEED_LOGICAL_NOT) {
    map_unary<bool, bool>(x, y, [](bool v) { return !v; });
    return 0;
  }
  bool known = true;
  visit_floating(x->dtype, [&](auto zero) {
    using T = decltype(zero);
    run_unary<T>(op, static_cast<T>(a), static_cast<T>(b), x, y, known);
  });
  return known ? 0 : report_error("unary", "unknown op code", op);
}

int binary(int32_t op, const heed_view* a, const heed_view* b, const heed_view* out) {
  bool known = true;
  visit_any(a->dtype, [&](auto zero) {
    using T = decltype(zero);
    if (op >= HEED_EQ) {
      run_comparison<T>(op, a, b, out, known);
    } else if constexpr (!std::is_same_v<T, bool>) {
      run_arithmetic<T>(op, a, b, out, known);
    } else {
      known = false;  // arithmetic on bool: the op layer converts first
    }
  });
  return known ? 0 : report_error("binary", "unknown op code (or arithmetic on bool)", op);
}

int where(const heed_view* condition, const heed_view* a, const heed_view* b,
          const heed_view* out) {
  visit_any(out->dtype, [&](auto zero) {
    using T = decltype(zero);
    const bool* c = typed<bool>(condition);
    const T* pa = typed<T>(a);
    const T* pb = typed<T>(b);
    T* po = typed<T>(out);
    StridedWalk<4>({condition, a, b, out})
        .for_each_run_parallel([&](auto o, int64_t count, auto s) {
          for (int64_t i = 0; i < count; ++i) {
            po[o[3] + i * s[3]] = c[o[0] + i * s[0]] ? pa[o[1] + i * s[1]] : pb[o[2] + i * s[2]];
          }
        });
  });
  return 0;
}

}  // namespace heed::cpu
