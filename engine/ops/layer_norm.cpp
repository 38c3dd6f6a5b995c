// Layer norm, fused: the backend normalises each row in one kernel and saves the row mean and
// 1/std; the backward kernel turns them into dx, dweight and dbias in one more pass.
#include "engine/ops/layer_norm.hpp"

#include "engine/ops/common.hpp"
#include "engine/ops/elementwise.hpp"
#include "engine/ops/reduce.hpp"

namespace heed {

namespace {

// Checks the arguments; returns the number of normalised elements per row.
int64_t check_layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight,
                         const Tensor& bias) {
  ops::check_floating("layer_norm", x);
  const auto k = static_cast<int64_t>(normalized_shape.size());
  if (k == 0 || k > x.dim() || Shape(x.shape().end() - k, x.shape().end()) != normalized_shape) {
    fail("layer_norm: normalized_shape {} must match the last dims of the input's shape {}",
         shape_str(normalized_shape), shape_str(x.shape()));
  }
  for (const Tensor* parameter : {&weight, &bias}) {
    if (!parameter->defined()) continue;
    ops::check_same_dtype_and_device("layer_norm", x, *parameter);
    if (parameter->shape() != normalized_shape) {
      fail("layer_norm: {} of shape {} must have the normalized shape {}",
           parameter == &weight ? "weight" : "bias", shape_str(parameter->shape()),
           shape_str(normalized_shape));
    }
  }
  return numel_of(normalized_shape);
}

}  // namespace

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight,
                  const Tensor& bias, double eps) {
  const profiler::Scope profiled("layer_norm");
  const int64_t d = check_layer_norm(x, normalized_shape, weight, bias);
  const Tensor rows = x.reshape({-1, d});  // (rows, d)
  const Tensor input = rows.detach().contiguous();
  const TensorOptions like{x.dtype(), x.device()};
  Tensor y = empty(input.shape(), like);                                            // (rows, d)
  Tensor mean = empty({input.size(0)}, like), rstd = empty({input.size(0)}, like);  // (rows,)
  // The kernel sees weight and bias flat, (d,).
  const Tensor w = weight.defined() ? weight.detach().contiguous().reshape({d}) : Tensor();
  const Tensor b = bias.defined() ? bias.detach().contiguous().reshape({d}) : Tensor();
  ops::call_kernel(x, &heed_backend::layer_norm_forward, "layer_norm_forward", input, w, b, eps, y,
                   mean, rstd);
  const bool has_bias = b.defined();
  y = record(y, "layer_norm", {rows, weight, bias},
             [input, w, has_bias, mean, rstd, normalized_shape](const Tensor& dy) {
               // with xhat = (x - mean) * rstd and g = dy * weight:
               // dx = rstd * (g - mean(g) - xhat * mean(g * xhat))
               // dweight = sum over rows of dy * xhat;  dbias = sum over rows of dy
               const TensorOptions like{dy.dtype(), dy.device()};
               Tensor dx = empty(input.shape(), like);                             // (rows, d)
               Tensor dweight = w.defined() ? empty(w.shape(), like) : Tensor();   // (d,)
               Tensor dbias = has_bias ? empty({input.size(1)}, like) : Tensor();  // (d,)
               ops::call_kernel(dx, &heed_backend::layer_norm_backward, "layer_norm_backward",
                                dy.contiguous(), input, w, mean, rstd, dx, dweight, dbias);
               return std::vector<Tensor>{
                   dx, dweight.defined() ? dweight.reshape(normalized_shape) : Tensor(),
                   dbias.defined() ? dbias.reshape(normalized_shape) : Tensor()};
             });
  return y.reshape(x.shape());
}

Tensor layer_norm_composite(const Tensor& x, const Shape& normalized_shape, const Tensor& weight,
                            const Tensor& bias, double eps) {
  check_layer_norm(x, normalized_shape, weight, bias);
  std::vector<int64_t> dims;
  for (int64_t i = 0; i < static_cast<int64_t>(normalized_shape.size()); ++i)
    dims.push_back(-1 - i);
  const Tensor centered = x - x.mean(dims, true);
  const Tensor variance = (centered * centered).mean(dims, true);
  Tensor y = centered / (variance + eps).sqrt();
  if (weight.defined()) y = y * weight;
  if (bias.defined()) y = y + bias;
  return y;
}

}  // namespace heed
