// The naive cross entropy: logsumexp and the softmax gradient one row at a time, in double.
// The fast kernel in engine/cpu/cross_entropy.cpp is tested against it (ReferenceKernelsGuard).
#include <vector>

#include "engine/cpu/kernels.hpp"
#include "engine/cpu/strided.hpp"

namespace heed::cpu::reference {

int cross_entropy_forward(const heed_view* logits, const heed_view* targets, int64_t ignore_index,
                          const heed_view* loss) {
  // Reuses the reference log_softmax: loss = -log_softmax(logits)[target].
  const int64_t n = logits->shape[0], c = logits->shape[1];
  visit_floating(logits->dtype, [&](auto zero) {
    using T = decltype(zero);
    std::vector<T> log_probs(static_cast<size_t>(n * c));
    heed_view out = *logits;
    out.data = log_probs.data();
    softmax_forward(logits, nullptr, 1, &out);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t t = typed<int64_t>(targets)[i];
      typed<T>(loss)[i] = t == ignore_index ? T(0) : -log_probs[static_cast<size_t>(i * c + t)];
    }
  });
  return 0;
}

int cross_entropy_backward(const heed_view* logits, const heed_view* targets, int64_t ignore_index,
                           const heed_view* row_grad, const heed_view* dlogits) {
  const int64_t n = logits->shape[0], c = logits->shape[1];
  visit_floating(logits->dtype, [&](auto zero) {
    using T = decltype(zero);
    softmax_forward(logits, nullptr, 0, dlogits);  // dlogits = softmax(logits), then adjust
    for (int64_t i = 0; i < n; ++i) {
      const int64_t t = typed<int64_t>(targets)[i];
      T* row = typed<T>(dlogits) + i * c;
      const T g = t == ignore_index ? T(0) : typed<T>(row_grad)[i];
      for (int64_t j = 0; j < c; ++j) row[j] = g * (row[j] - (j == t ? T(1) : T(0)));
    }
  });
  return 0;
}

}  // namespace heed::cpu::reference
