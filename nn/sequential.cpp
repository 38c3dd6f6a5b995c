// Sequential, and the activation modules (GELU, ReLU, Tanh) it usually holds.
#include "nn/sequential.hpp"

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

}  // namespace heed::nn
