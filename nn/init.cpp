// Weight initialisations drawn from heed's default generator: uniform, Xavier-uniform, normal.
#include "nn/init.hpp"

#include <cmath>

namespace heed::nn::init {

namespace {
thread_local bool skip_init = false;
}

SkipInitGuard::SkipInitGuard() : previous_(skip_init) {
  skip_init = true;
}
SkipInitGuard::~SkipInitGuard() {
  skip_init = previous_;
}
bool init_skipped() {
  return skip_init;
}

void uniform_(Tensor& t, double bound) {
  if (skip_init) return;
  NoGradGuard no_grad;
  // rand is U[0, 1): map it to U[-bound, bound)
  t.copy_(rand(t.shape(), {t.dtype(), t.device()}) * (2.0 * bound) - bound);
}

void xavier_uniform_(Tensor& t, double gain) {
  if (t.dim() != 2)
    fail("xavier_uniform_: expected a matrix (fan_out, fan_in), got {}", shape_str(t.shape()));
  uniform_(t, gain * std::sqrt(6.0 / double(t.size(0) + t.size(1))));  // skipped there if asked
}

void normal_(Tensor& t, double mean, double std) {
  if (skip_init) return;
  NoGradGuard no_grad;
  t.copy_(randn(t.shape(), {t.dtype(), t.device()}) * std + mean);
}

}  // namespace heed::nn::init
