// Losses built on the engine's cross_entropy: label smoothing, sequence losses over valid
// tokens, and mean squared error.
#include "nn/loss.hpp"

namespace heed::nn {

Tensor cross_entropy(const Tensor& logits, const Tensor& targets,
                     const CrossEntropyLossOptions& options) {
  const double eps = options.label_smoothing;
  if (!(eps >= 0.0 && eps <= 1.0)) {
    fail("cross_entropy: label_smoothing must be in [0, 1], got {}", eps);
  }
  if (eps == 0.0) {
    return heed::cross_entropy(logits, targets, {options.ignore_index, options.reduction});
  }
  // Per-target losses, 0 where the target is ignored; shape of targets.
  const Tensor hard = heed::cross_entropy(logits, targets, {options.ignore_index, Reduction::None});
  const int64_t class_dim = logits.dim() == 1 ? 0 : 1;
  const Tensor uniform = -log_softmax(logits, class_dim).mean({class_dim});  // shape of targets
  const Tensor counted = ne(targets, scalar_like(targets, options.ignore_index)).to(logits.dtype());
  const Tensor per_target = hard * (1.0 - eps) + uniform * counted * eps;
  switch (options.reduction) {
    case Reduction::None:
      return per_target;
    case Reduction::Sum:
      return per_target.sum();
    case Reduction::Mean:
      break;
  }
  return per_target.sum() / std::max(counted.sum().item(), 1.0);  // nothing counted: 0, not NaN
}

Tensor sequence_cross_entropy(const Tensor& logits, const Tensor& targets, const Tensor& valid_lens,
                              double label_smoothing) {
  if (logits.dim() != 3 || targets.shape() != Shape{logits.size(0), logits.size(1)}) {
    fail("sequence_cross_entropy: expected logits (B, T, V) and targets (B, T), got {} and {}",
         shape_str(logits.shape()), shape_str(targets.shape()));
  }
  const int64_t batch = logits.size(0), steps = logits.size(1);
  if (valid_lens.shape() != Shape{batch} || valid_lens.dtype() != kInt64) {
    fail("sequence_cross_entropy: expected int64 valid_lens of shape ({}), got {} {}", batch,
         dtype_name(valid_lens.dtype()), shape_str(valid_lens.shape()));
  }
  constexpr int64_t kIgnored = -100;
  const Tensor positions = arange(steps).to(valid_lens.device()).unsqueeze(0);  // (1, T)
  const Tensor valid = lt(positions, valid_lens.unsqueeze(1));                  // (B, T)
  const Tensor counted_targets = where(valid, targets, scalar_like(targets, kIgnored));
  return cross_entropy(logits.reshape({batch * steps, -1}), counted_targets.reshape({-1}),
                       {.ignore_index = kIgnored, .label_smoothing = label_smoothing});
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  if (input.shape() != target.shape()) {
    fail("mse_loss: input and target must have one shape, got {} and {}", shape_str(input.shape()),
         shape_str(target.shape()));
  }
  const Tensor squared = (input - target).pow(2.0);
  if (reduction == Reduction::None) return squared;
  return reduction == Reduction::Sum ? squared.sum() : squared.mean();
}

}  // namespace heed::nn
