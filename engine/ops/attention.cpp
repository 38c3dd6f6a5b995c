// Scaled dot-product attention: the fused op (tiles and an online softmax, one kernel each way)
// and its composite twin from matmul and masked_softmax.
#include "engine/ops/attention.hpp"

#include <cmath>

#include "engine/ops/common.hpp"
#include "engine/ops/elementwise.hpp"
#include "engine/ops/matmul.hpp"
#include "engine/ops/softmax.hpp"

namespace heed {

namespace {

const char* const kOp = "scaled_dot_product_attention";

// Checks the shapes, dtypes, devices and scale; returns the scale to use.
double checked_arguments(const Tensor& q, const Tensor& k, const Tensor& v,
                         const AttentionMask& mask, std::optional<double> scale) {
  ops::check_floating(kOp, q);
  ops::check_same_dtype_and_device(kOp, q, k);
  ops::check_same_dtype_and_device(kOp, q, v);
  const bool ok = q.dim() == 4 && k.dim() == 4 && v.dim() == 4 && k.size(0) == q.size(0) &&
                  v.size(0) == q.size(0) && k.size(1) == q.size(1) && v.size(1) == q.size(1) &&
                  k.size(3) == q.size(3) && v.size(2) == k.size(2);
  if (!ok) {
    fail("{}: expected q (B, H, L, d), k (B, H, S, d) and v (B, H, S, e), got {}, {} and {}", kOp,
         shape_str(q.shape()), shape_str(k.shape()), shape_str(v.shape()));
  }
  if (mask.key_keep.defined() && mask.key_keep.shape() != Shape{q.size(0), k.size(2)}) {
    fail("{}: expected key_keep of shape ({}, {}) (batch, keys), got {}", kOp, q.size(0), k.size(2),
         shape_str(mask.key_keep.shape()));
  }
  const double used = scale.value_or(1.0 / std::sqrt(double(std::max<int64_t>(q.size(3), 1))));
  if (!std::isfinite(used)) fail("{}: scale must be finite, got {}", kOp, used);
  return used;
}

// key_keep as a contiguous bool (B, S) on q's device; a 0/1 mask is checked and converted.
Tensor checked_key_keep(const Tensor& q, const Tensor& key_keep) {
  if (!key_keep.defined()) return {};
  Tensor keep = key_keep.detach().to(q.device());
  if (keep.dtype() != kBool) {
    for (double value : keep.to_vector<double>()) {
      if (value != 0 && value != 1)
        fail("{}: key_keep must hold only 0 and 1, found {}", kOp, value);
    }
    keep = ne(keep, scalar_like(keep, 0));
  }
  return keep.contiguous();
}

// x as the kernels take it: rows (the last dim) contiguous, and rows that do not overlap, since
// the tile products hand the row stride to BLAS as a leading dimension. Heads split from
// (B, T, H, d) pass as they are; an expanded or otherwise overlapping view (a gradient broadcast
// back over positions) is copied.
Tensor blas_rows(const Tensor& x) {
  const bool rows_ok = x.stride(-1) == 1 && (x.size(-2) <= 1 || x.stride(-2) >= x.size(-1));
  return rows_ok ? x.detach() : x.detach().contiguous();
}

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionMask& mask, std::optional<double> scale) {
  const profiler::Scope profiled("scaled_dot_product_attention");
  const double used_scale = checked_arguments(q, k, v, mask, scale);
  // Nothing to tile (no queries, keys or features): the composite gives the zeros and gradients.
  if (q.numel() == 0 || k.numel() == 0 || v.numel() == 0) {
    return scaled_dot_product_attention_composite(q, k, v, mask, used_scale);
  }
  const Tensor keep = checked_key_keep(q, mask.key_keep);
  const int32_t causal = mask.causal ? 1 : 0;
  const Tensor qd = blas_rows(q), kd = blas_rows(k), vd = blas_rows(v);  // as q, k, v
  const int64_t B = q.size(0), H = q.size(1), L = q.size(2), e = v.size(3);
  const TensorOptions like{q.dtype(), q.device()};
  // Written as (B, L, H, e) and returned as its (B, H, L, e) view: merging the heads back into
  // (B, L, H * e), what every caller does next, is then a view too.
  const Tensor out = empty({B, L, H, e}, like).transpose(1, 2);  // (B, H, L, e)
  const Tensor logsumexp = empty({B, H, L}, like);               // (B, H, L)
  ops::call_kernel(q, &heed_backend::attention_forward, "attention_forward", qd, kd, vd, keep,
                   causal, used_scale, out, logsumexp);
  return record(
      out, kOp, {q, k, v},
      [qd, kd, vd, keep, causal, used_scale, out = out.detach(), logsumexp](const Tensor& dout) {
        // with p = softmax(scale q k^T) recomputed from logsumexp:
        // dv = p^T do;  ds = p (do v^T - rowsum(do o));  dq = scale ds k;  dk = scale ds^T q
        const TensorOptions options{dout.dtype(), dout.device()};
        Tensor dq = empty(qd.shape(), options);  // (B, H, L, d)
        Tensor dk = empty(kd.shape(), options);  // (B, H, S, d)
        Tensor dv = empty(vd.shape(), options);  // (B, H, S, e)
        ops::call_kernel(dq, &heed_backend::attention_backward, "attention_backward", qd, kd, vd,
                         keep, causal, used_scale, out, logsumexp, blas_rows(dout), dq, dk, dv);
        return std::vector<Tensor>{dq, dk, dv};
      });
}

Tensor scaled_dot_product_attention_composite(const Tensor& q, const Tensor& k, const Tensor& v,
                                              const AttentionMask& mask,
                                              std::optional<double> scale) {
  const double used_scale = checked_arguments(q, k, v, mask, scale);
  const Tensor scores = matmul(q * used_scale, k.transpose(2, 3));  // (B, H, L, S)
  SoftmaxMask softmax_mask{.causal = mask.causal};
  if (mask.key_keep.defined()) {
    softmax_mask.keep_mask =
        checked_key_keep(q, mask.key_keep).reshape({q.size(0), 1, 1, k.size(2)});  // (B, 1, 1, S)
  }
  return matmul(masked_softmax(scores, softmax_mask), v);  // (B, H, L, e)
}

}  // namespace heed
