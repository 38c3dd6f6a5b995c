// The Dropout module: the engine's dropout while training, the identity in eval mode.
#include "nn/dropout.hpp"

namespace heed::nn {

Dropout::Dropout(double probability) : UnaryModule("Dropout"), p(probability) {
  if (!(p >= 0.0 && p < 1.0)) fail("Dropout: expected 0 <= p < 1, got {}", p);
}

}  // namespace heed::nn
