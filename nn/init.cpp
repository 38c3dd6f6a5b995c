#include "nn/init.hpp"

namespace heed::nn::init {

void uniform_(Tensor& t, double bound) {
  NoGradGuard no_grad;
  // rand is U[0, 1): map it to U[-bound, bound)
  t.copy_(rand(t.shape(), {t.dtype(), t.device()}) * (2.0 * bound) - bound);
}

void normal_(Tensor& t, double mean, double std) {
  NoGradGuard no_grad;
  t.copy_(randn(t.shape(), {t.dtype(), t.device()}) * std + mean);
}

}  // namespace heed::nn::init
