// CUDA elementwise maps over strided views: copy (with dtype conversion), fill, the unary and
// binary ops of engine/backend.hpp, and where. One thread per element (grid-stride loop); each
// view turns the element's linear index into its own offset, so broadcast (stride 0) and
// transposed inputs need no copies.
#include <cmath>

#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.hpp"

namespace heed::cuda {

namespace {

constexpr double kSqrtHalf = 0.70710678118654752440;
constexpr double kSqrtTwoOverPi = 0.79788456080286535588;
constexpr double kInvSqrtTwoPi = 0.39894228040143267794;

template <typename From, typename To>
__global__ void copy_kernel(heed_view src, heed_view dst, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    static_cast<To*>(dst.data)[offset_of(dst, i)] =
        static_cast<To>(static_cast<const From*>(src.data)[offset_of(src, i)]);
  }
}

template <typename T>
__global__ void fill_kernel(heed_view dst, T value, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    static_cast<T*>(dst.data)[offset_of(dst, i)] = value;
  }
}

template <typename T>
__device__ T apply_unary(int32_t op, T v, T a, T b) {
  switch (op) {
    case HEED_NEG:
      return -v;
    case HEED_EXP:
      return exp(v);
    case HEED_LOG:
      return log(v);
    case HEED_SQRT:
      return sqrt(v);
    case HEED_ABS:
      return fabs(v);
    case HEED_SIGN:
      return T((v > T(0)) - (v < T(0)));
    case HEED_TANH:
      return tanh(v);
    case HEED_SIGMOID:
      return T(1) / (T(1) + exp(-v));
    case HEED_RELU:
      return v > T(0) ? v : T(0);
    case HEED_GELU_EXACT:
      return T(0.5) * v * (T(1) + erf(v * T(kSqrtHalf)));
    case HEED_GELU_TANH:
      return T(0.5) * v * (T(1) + tanh(T(kSqrtTwoOverPi) * (v + T(0.044715) * v * v * v)));
    case HEED_GELU_EXACT_DERIVATIVE:  // Phi(x) + x phi(x)
      return T(0.5) * (T(1) + erf(v * T(kSqrtHalf))) + v * T(kInvSqrtTwoPi) * exp(T(-0.5) * v * v);
    case HEED_GELU_TANH_DERIVATIVE: {  // 0.5 (1 + t) + 0.5 x (1 - t^2) u'
      const T t = tanh(T(kSqrtTwoOverPi) * (v + T(0.044715) * v * v * v));
      const T du = T(kSqrtTwoOverPi) * (T(1) + T(3 * 0.044715) * v * v);
      return T(0.5) * (T(1) + t) + T(0.5) * v * (T(1) - t * t) * du;
    }
    case HEED_POW_SCALAR:
      return a == T(2) ? v * v : pow(v, a);
    case HEED_CLAMP:
      return fmin(fmax(v, a), b);
    case HEED_LOG1P:
      return log1p(v);
    case HEED_EXPM1:
      return expm1(v);
    case HEED_SIN:
      return sin(v);
    case HEED_COS:
      return cos(v);
    case HEED_ERF:
      return erf(v);
    case HEED_SILU:  // as the CPU kernel: v e^v below -80
      return v < T(-80) ? v * exp(v) : v / (T(1) + exp(-v));
    case HEED_SILU_DERIVATIVE: {  // s (1 + x (1 - s)); e^v (1 + v) below -80
      if (v < T(-80)) return exp(v) * (T(1) + v);
      const T s = T(1) / (T(1) + exp(-v));
      return s * (T(1) + v * (T(1) - s));
    }
    case HEED_SOFTPLUS:
      return a * v > b ? v : log1p(exp(a * v)) / a;
    case HEED_SOFTPLUS_DERIVATIVE:
      return a * v > b ? T(1) : T(1) / (T(1) + exp(-a * v));
    default:
      return v;
  }
}

template <typename T>
__global__ void unary_kernel(int32_t op, T a, T b, heed_view x, heed_view y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const T v = static_cast<const T*>(x.data)[offset_of(x, i)];
    static_cast<T*>(y.data)[offset_of(y, i)] = apply_unary(op, v, a, b);
  }
}

__global__ void logical_not_kernel(heed_view x, heed_view y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    static_cast<bool*>(y.data)[offset_of(y, i)] =
        !static_cast<const bool*>(x.data)[offset_of(x, i)];
  }
}

template <typename T>
__device__ T apply_arithmetic(int32_t op, T p, T q) {
  switch (op) {
    case HEED_ADD:
      return p + q;
    case HEED_SUB:
      return p - q;
    case HEED_MUL:
      return p * q;
    case HEED_DIV:
      return p / q;
    case HEED_POW:
      return static_cast<T>(pow(double(p), double(q)));
    case HEED_MAXIMUM:
      return p > q ? p : q;
    default:
      return p < q ? p : q;  // HEED_MINIMUM
  }
}

template <typename T>
__device__ bool apply_comparison(int32_t op, T p, T q) {
  switch (op) {
    case HEED_EQ:
      return p == q;
    case HEED_NE:
      return p != q;
    case HEED_LT:
      return p < q;
    case HEED_LE:
      return p <= q;
    case HEED_GT:
      return p > q;
    default:
      return p >= q;  // HEED_GE
  }
}

template <typename T>
__global__ void binary_kernel(int32_t op, heed_view a, heed_view b, heed_view out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const T p = static_cast<const T*>(a.data)[offset_of(a, i)];
    const T q = static_cast<const T*>(b.data)[offset_of(b, i)];
    if (op >= HEED_EQ) {
      static_cast<bool*>(out.data)[offset_of(out, i)] = apply_comparison(op, p, q);
    } else {
      static_cast<T*>(out.data)[offset_of(out, i)] = apply_arithmetic(op, p, q);
    }
  }
}

template <>
__global__ void binary_kernel<bool>(int32_t op, heed_view a, heed_view b, heed_view out,
                                    int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const bool p = static_cast<const bool*>(a.data)[offset_of(a, i)];
    const bool q = static_cast<const bool*>(b.data)[offset_of(b, i)];
    static_cast<bool*>(out.data)[offset_of(out, i)] = apply_comparison(op, int(p), int(q));
  }
}

template <typename T>
__global__ void where_kernel(heed_view condition, heed_view a, heed_view b, heed_view out,
                             int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const bool c = static_cast<const bool*>(condition.data)[offset_of(condition, i)];
    static_cast<T*>(out.data)[offset_of(out, i)] =
        c ? static_cast<const T*>(a.data)[offset_of(a, i)]
          : static_cast<const T*>(b.data)[offset_of(b, i)];
  }
}

}  // namespace

int copy(const heed_view* src, const heed_view* dst) {
  const int64_t n = numel(*dst);
  if (n == 0) return 0;
  visit_any(src->dtype, [&](auto from) {
    visit_any(dst->dtype, [&](auto to) {
      copy_kernel<decltype(from), decltype(to)><<<blocks_for(n), kThreads>>>(*src, *dst, n);
    });
  });
  return check_launch("copy");
}

int fill(const heed_view* dst, double value) {
  const int64_t n = numel(*dst);
  if (n == 0) return 0;
  visit_any(dst->dtype, [&](auto zero) {
    using T = decltype(zero);
    fill_kernel<T><<<blocks_for(n), kThreads>>>(*dst, static_cast<T>(value), n);
  });
  return check_launch("fill");
}

int unary(int32_t op, double a, double b, const heed_view* x, const heed_view* y) {
  if (op < 0 || op >= HEED_UNARY_OP_COUNT) return unknown_op("unary", op);
  const int64_t n = numel(*y);
  if (n == 0) return 0;
  if (op == HEED_LOGICAL_NOT) {
    logical_not_kernel<<<blocks_for(n), kThreads>>>(*x, *y, n);
  } else {
    visit_floating(x->dtype, [&](auto zero) {
      using T = decltype(zero);
      unary_kernel<T><<<blocks_for(n), kThreads>>>(op, T(a), T(b), *x, *y, n);
    });
  }
  return check_launch("unary");
}

int binary(int32_t op, const heed_view* a, const heed_view* b, const heed_view* out) {
  if (op < 0 || op >= HEED_BINARY_OP_COUNT) return unknown_op("binary", op);
  const int64_t n = numel(*out);
  if (n == 0) return 0;
  visit_any(a->dtype, [&](auto zero) {
    binary_kernel<decltype(zero)><<<blocks_for(n), kThreads>>>(op, *a, *b, *out, n);
  });
  return check_launch("binary");
}

int where(const heed_view* condition, const heed_view* a, const heed_view* b,
          const heed_view* out) {
  const int64_t n = numel(*out);
  if (n == 0) return 0;
  visit_any(out->dtype, [&](auto zero) {
    where_kernel<decltype(zero)><<<blocks_for(n), kThreads>>>(*condition, *a, *b, *out, n);
  });
  return check_launch("where");
}

}  // namespace heed::cuda
