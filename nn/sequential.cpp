// Sequential, and the activation modules it usually holds (GELU, ReLU, Tanh, Sigmoid, SiLU,
// Softplus).
#include "nn/sequential.hpp"

#include <cmath>

#include <fmt/format.h>

namespace heed::nn {

Sequential::Sequential(std::vector<std::shared_ptr<UnaryModule>> layers)
    : UnaryModule("Sequential") {
  for (auto& layer : layers) push_back(std::move(layer));
}

void Sequential::push_back(std::shared_ptr<UnaryModule> layer) {
  if (!layer) fail("Sequential: cannot add an empty module");
  register_module(std::to_string(layers_.size()), layer);
  layers_.push_back(std::move(layer));
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (auto& layer : layers_) y = layer->forward(y);
  return y;
}

Softplus::Softplus(double beta, double threshold)
    : UnaryModule("Softplus"), beta_(beta), threshold_(threshold) {
  if (!std::isfinite(beta) || beta == 0) {
    fail("Softplus: beta must be a finite number other than 0, got {}", beta);
  }
  if (std::isnan(threshold)) fail("Softplus: threshold must be a number, got nan");
}

namespace {

// A double as Python writes a float: 2.0, 0.5, 1e-05.
std::string python_float(double value) {
  const bool whole = std::isfinite(value) && value == std::floor(value) && std::abs(value) < 1e16;
  return whole ? fmt::format("{:.1f}", value) : fmt::format("{}", value);
}

}  // namespace

std::string Softplus::extra_repr() const {  // PyTorch's: beta=1.0, threshold=20.0
  return "beta=" + python_float(beta_) + ", threshold=" + python_float(threshold_);
}

}  // namespace heed::nn
