// Linear layers: linear(x, W, b) = x W^T + b as one matrix product (addmm), and the Linear module
// with PyTorch's default initialisation.
#include "nn/linear.hpp"

#include <cmath>

#include "nn/init.hpp"

namespace heed::nn {

Linear::Linear(int64_t in, int64_t out, bool with_bias, DType dtype)
    : UnaryModule("Linear"), in_features(in), out_features(out) {
  if (in < 1 || out < 1) {
    fail("Linear: expected positive in_features and out_features, got {} and {}", in, out);
  }
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  weight = register_parameter("weight", empty({out, in}, {dtype}));
  init::uniform_(weight, bound);
  if (with_bias) {
    bias = register_parameter("bias", empty({out}, {dtype}));
    init::uniform_(bias, bound);
  }
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  const int64_t in = weight.size(1), out = weight.size(0);
  if (x.dim() < 1 || x.size(-1) != in) {
    fail("linear: expected input of shape (..., {}), got {}", in, shape_str(x.shape()));
  }
  Shape out_shape = x.shape();
  out_shape.back() = out;
  const Tensor rows = x.reshape({-1, in});  // (N, in)
  // With a bias, one gemm adds the product to the bias rows (addmm) instead of a second pass.
  const Tensor y = bias.defined() ? addmm(bias, rows, weight.t())  // (N, out)
                                  : mm(rows, weight.t());          // (N, out)
  return y.reshape(out_shape);                                     // (..., out)
}

Tensor Linear::forward(const Tensor& x) {
  if (x.dim() < 1 || x.size(-1) != in_features) {
    fail("Linear: expected input of shape (..., {}), got {}", in_features, shape_str(x.shape()));
  }
  return linear(x, weight, bias);
}

std::string Linear::extra_repr() const {
  return fmt::format("in_features={}, out_features={}, bias={}", in_features, out_features,
                     bias.defined() ? "True" : "False");
}

}  // namespace heed::nn
