// softmax, log_softmax and masked_softmax: one fused backend kernel per direction. The forward
// keeps y; the backward needs nothing else (masked entries have y = 0, so their gradient is 0).
#include "engine/ops/softmax.hpp"

#include "engine/ops/common.hpp"
#include "engine/ops/elementwise.hpp"

namespace heed {

namespace {

// The last-dim softmax (or log_softmax) of x with an optional mask, with its backward.
Tensor softmax_last_dim(const char* op, const Tensor& x, const heed_softmax_mask* mask, bool log) {
  const Tensor input = x.detach().contiguous();
  Tensor y = empty(x.shape(), {x.dtype(), x.device()});  // x's shape, softmax over the last dim
  const int32_t log_flag = log ? 1 : 0;
  ops::call_kernel(x, &heed_backend::softmax_forward, "softmax_forward", input, mask, log_flag, y);
  return record(y, op, {x}, [y = y.detach(), log_flag](const Tensor& dy) {
    // softmax: dx = y * (dy - sum(dy * y))
    // log_softmax: dx = dy - exp(y) * sum(dy)
    Tensor dx = empty(y.shape(), {y.dtype(), y.device()});
    ops::call_kernel(y, &heed_backend::softmax_backward, "softmax_backward", y, dy.contiguous(),
                     log_flag, dx);
    return std::vector<Tensor>{dx};
  });
}

Tensor softmax_along(const char* op, const Tensor& x, int64_t dim, bool log) {
  ops::check_floating(op, x);
  if (x.dim() == 0) return softmax_along(op, x.reshape({1}), 0, log).reshape({});
  const int64_t d = wrap_dim(dim, x.dim(), op);
  const int64_t last = x.dim() - 1;
  if (d == last) return softmax_last_dim(op, x, nullptr, log);
  // Other dims: swap into last place, and back (views carry the gradient through).
  return softmax_last_dim(op, x.transpose(d, last), nullptr, log).transpose(d, last);
}

// Validates valid_lens and returns it contiguous, with how many rows share each length.
Tensor checked_valid_lens(const Tensor& x, const Tensor& valid_lens, int64_t* rows_per_length) {
  ops::check_dtype("masked_softmax", valid_lens, kInt64, "valid_lens");
  const int64_t k = valid_lens.dim();
  const bool prefix = k >= 1 && k < x.dim() &&
                      Shape(x.shape().begin(), x.shape().begin() + k) == valid_lens.shape();
  if (!prefix) {
    fail(
        "masked_softmax: valid_lens of shape {} must match the leading dims of the scores {} "
        "(e.g. (B,) or (B, Q) for scores (B, Q, K)); for a 0/1 mask use .keep_mask",
        shape_str(valid_lens.shape()), shape_str(x.shape()));
  }
  const int64_t keys = x.size(-1);
  for (int64_t length : valid_lens.to_vector<int64_t>()) {
    if (length < 0 || length > keys) {
      fail("masked_softmax: valid length {} is outside [0, {}] for scores with {} keys (shape {})",
           length, keys, keys, shape_str(x.shape()));
    }
  }
  *rows_per_length = 1;
  for (int64_t d = k; d + 1 < x.dim(); ++d) *rows_per_length *= x.size(d);
  return valid_lens.contiguous();
}

// Validates keep_mask and returns it as bool on x's device, broadcast to x's shape (a view, no
// copy of x's size). A mask on another device is moved, as valid_lens is: a kernel must never
// be handed a pointer into another device's memory.
Tensor checked_keep_mask(const Tensor& x, const Tensor& keep_mask) {
  ops::check_defined("masked_softmax", keep_mask, "keep_mask");
  Tensor keep = keep_mask.to(x.device());
  if (keep.dtype() != kBool) {
    // A 0/1 mask: anything else is most likely valid lengths passed in the wrong field.
    for (double value : keep.to_vector<double>()) {
      if (value != 0 && value != 1) {
        fail(
            "masked_softmax: keep_mask must hold only 0 and 1, found {}; valid lengths go in "
            ".valid_lens",
            value);
      }
    }
    keep = ne(keep, scalar_like(keep, 0));
  }
  if (!broadcasts_to(keep.shape(), x.shape())) {
    fail("masked_softmax: keep_mask of shape {} does not broadcast to the scores' shape {}",
         shape_str(keep_mask.shape()), shape_str(x.shape()));
  }
  return keep.expand(x.shape());
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) {
  const profiler::Scope profiled("softmax");
  return softmax_along("softmax", x, dim, false);
}
Tensor log_softmax(const Tensor& x, int64_t dim) {
  const profiler::Scope profiled("log_softmax");
  return softmax_along("log_softmax", x, dim, true);
}

Tensor masked_softmax(const Tensor& x, const SoftmaxMask& mask) {
  const profiler::Scope profiled("masked_softmax");
  ops::check_floating("masked_softmax", x);
  if (x.dim() == 0) fail("masked_softmax: expected scores with at least 1 dim, got a 0-d tensor");
  heed_softmax_mask kernel_mask{};
  kernel_mask.causal = mask.causal ? 1 : 0;
  kernel_mask.rows_per_valid_len = 1;
  Tensor lengths, keep;
  heed_view keep_view{};  // the kernel's mask points at it, so it lives as long as the call
  if (mask.valid_lens.defined()) {
    lengths =
        checked_valid_lens(x, mask.valid_lens, &kernel_mask.rows_per_valid_len).to(x.device());
    kernel_mask.valid_lens = static_cast<const int64_t*>(lengths.raw_data());
  }
  if (mask.keep_mask.defined()) {
    keep = checked_keep_mask(x, mask.keep_mask);
    keep_view = ops::view_of(keep);
    kernel_mask.keep = &keep_view;
  }
  return softmax_last_dim("masked_softmax", x, &kernel_mask, false);
}

Tensor Tensor::softmax(int64_t dim) const {
  return heed::softmax(*this, dim);
}
Tensor Tensor::log_softmax(int64_t dim) const {
  return heed::log_softmax(*this, dim);
}

}  // namespace heed
