// Cross-entropy, fused: the backend computes each row's log-sum-exp and target logit in one pass,
// and the backward writes softmax - onehot directly, without materialising log-probabilities.
#include "engine/ops/cross_entropy.hpp"

#include "engine/ops/common.hpp"
#include "engine/ops/elementwise.hpp"
#include "engine/ops/index.hpp"
#include "engine/ops/reduce.hpp"
#include "engine/ops/shape.hpp"
#include "engine/ops/softmax.hpp"

namespace heed {

namespace {

// Brings logits to (rows, C) and targets to (rows,), checking shapes and target values.
std::pair<Tensor, Tensor> as_rows(const char* op, const Tensor& logits, const Tensor& targets,
                                  int64_t ignore_index) {
  ops::check_floating(op, logits);
  ops::check_dtype(op, targets, kInt64, "targets");
  if (logits.dim() == 0) fail("{}: logits must have at least 1 dim, got a 0-d tensor", op);
  const bool unbatched = logits.dim() == 1;
  Shape expected_targets = logits.shape();
  expected_targets.erase(expected_targets.begin() + (unbatched ? 0 : 1));
  if (targets.shape() != expected_targets) {
    fail("{}: logits of shape {} need targets of shape {}, got {}", op, shape_str(logits.shape()),
         shape_str(expected_targets), shape_str(targets.shape()));
  }
  const int64_t classes = unbatched ? logits.size(0) : logits.size(1);
  for (int64_t t : targets.to_vector<int64_t>()) {
    if (t != ignore_index && (t < 0 || t >= classes)) {
      fail("{}: target {} is out of range for {} classes (ignore_index is {})", op, t, classes,
           ignore_index);
    }
  }
  const Tensor rows =
      unbatched ? logits.unsqueeze(0) : movedim(logits, 1, -1).reshape({-1, classes});
  return {rows, targets.reshape({-1}).contiguous()};
}

Tensor reduce_losses(const Tensor& per_row, const Tensor& targets, CrossEntropyOptions options,
                     const Shape& none_shape) {
  if (options.reduction == Reduction::None) return per_row.reshape(none_shape);
  if (options.reduction == Reduction::Sum) return per_row.sum();
  const Tensor counted = ne(targets, scalar_like(targets, options.ignore_index)).to(kInt64).sum();
  const double count = counted.item();
  return per_row.sum() / std::max(count, 1.0);  // all ignored: 0 / 1 = 0, not NaN
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, CrossEntropyOptions options) {
  const profiler::Scope profiled("cross_entropy");
  const auto [rows, targets_of_rows] =
      as_rows("cross_entropy", logits, targets, options.ignore_index);
  const Tensor flat_targets = targets_of_rows;  // a variable, so the backward closure can hold it
  const Tensor input = rows.detach().contiguous();
  Tensor per_row = empty({rows.size(0)}, {rows.dtype(), rows.device()});
  const int64_t ignore = options.ignore_index;
  ops::call_kernel(rows, &heed_backend::cross_entropy_forward, "cross_entropy_forward", input,
                   flat_targets, ignore, per_row);
  per_row =
      record(per_row, "cross_entropy", {rows}, [input, flat_targets, ignore](const Tensor& dloss) {
        // loss_i = logsumexp(x_i) - x_i[t_i]:
        // dx_i = dloss_i * (softmax(x_i) - onehot(t_i)), and 0 for an ignored row
        Tensor dx = empty(input.shape(), {input.dtype(), input.device()});  // (N, C)
        ops::call_kernel(dx, &heed_backend::cross_entropy_backward, "cross_entropy_backward", input,
                         flat_targets, ignore, dloss.contiguous(), dx);
        return std::vector<Tensor>{dx};
      });
  return reduce_losses(per_row, flat_targets, options, targets.shape());
}

Tensor cross_entropy_composite(const Tensor& logits, const Tensor& targets,
                               CrossEntropyOptions options) {
  auto [rows, flat_targets] = as_rows("cross_entropy", logits, targets, options.ignore_index);
  const Tensor ignored = eq(flat_targets, scalar_like(flat_targets, options.ignore_index));
  const Tensor safe_targets = where(ignored, scalar_like(flat_targets, 0), flat_targets);
  const Tensor picked = gather(log_softmax(rows, -1), 1, safe_targets.unsqueeze(1)).squeeze(1);
  const Tensor per_row = where(ignored, scalar_like(picked, 0), -picked);
  return reduce_losses(per_row, flat_targets, options, targets.shape());
}

}  // namespace heed
