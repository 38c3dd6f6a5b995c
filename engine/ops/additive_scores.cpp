// Additive attention scores: the fused op (one kernel each way, tanh recomputed in the backward)
// and its composite twin from broadcasting add, tanh and matmul.
#include "engine/ops/additive_scores.hpp"

#include "engine/ops/common.hpp"
#include "engine/ops/elementwise.hpp"
#include "engine/ops/matmul.hpp"

namespace heed {

namespace {

void check_additive_arguments(const Tensor& query_features, const Tensor& key_features,
                              const Tensor& w) {
  ops::check_floating("additive_scores", w);
  ops::check_same_dtype_and_device("additive_scores", query_features, w);
  ops::check_same_dtype_and_device("additive_scores", key_features, w);
  const bool ok = query_features.dim() == 3 && key_features.dim() == 3 && w.dim() == 1 &&
                  key_features.size(0) == query_features.size(0) &&
                  key_features.size(2) == query_features.size(2) &&
                  w.size(0) == query_features.size(2);
  if (!ok) {
    fail(
        "additive_scores: expected query_features (B, Q, H), key_features (B, K, H) and w (H), "
        "got {}, {} and {}",
        shape_str(query_features.shape()), shape_str(key_features.shape()), shape_str(w.shape()));
  }
}

}  // namespace

Tensor additive_scores(const Tensor& query_features, const Tensor& key_features, const Tensor& w) {
  const profiler::Scope profiled("additive_scores");
  check_additive_arguments(query_features, key_features, w);
  const Tensor qf = query_features.detach().contiguous(), kf = key_features.detach().contiguous();
  const Tensor wv = w.detach().contiguous();
  Tensor scores =
      empty({qf.size(0), qf.size(1), kf.size(1)}, {w.dtype(), w.device()});  // (B, Q, K)
  ops::call_kernel(w, &heed_backend::additive_scores_forward, "additive_scores_forward", qf, kf, wv,
                   scores);
  return record(scores, "additive_scores", {query_features, key_features, w},
                [qf, kf, wv](const Tensor& dscores) {
                  // with t = tanh(qf + kf) and g = dscores:
                  // dw = sum g t;  dqf = sum_k g w (1 - t^2);  dkf = sum_q g w (1 - t^2)
                  const TensorOptions like{dscores.dtype(), dscores.device()};
                  Tensor dq = empty(qf.shape(), like);  // (B, Q, H)
                  Tensor dk = empty(kf.shape(), like);  // (B, K, H)
                  Tensor dw = empty(wv.shape(), like);  // (H)
                  ops::call_kernel(dw, &heed_backend::additive_scores_backward,
                                   "additive_scores_backward", dscores.contiguous(), qf, kf, wv, dq,
                                   dk, dw);
                  return std::vector<Tensor>{dq, dk, dw};
                });
}

Tensor additive_scores_composite(const Tensor& query_features, const Tensor& key_features,
                                 const Tensor& w) {
  check_additive_arguments(query_features, key_features, w);
  // (B, Q, 1, H) + (B, 1, K, H) -> (B, Q, K, H): every query against every key
  const Tensor features = tanh(query_features.unsqueeze(2) + key_features.unsqueeze(1));
  return matmul(features, w.unsqueeze(1)).squeeze(-1);  // (B, Q, K, H) @ (H, 1) -> (B, Q, K)
}

}  // namespace heed
