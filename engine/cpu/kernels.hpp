// The CPU backend's kernels, one declaration per entry of heed_backend. The fast kernels are
// in this folder, one file per op family (engine/cpu/softmax.cpp, ...); the naive reference
// kernels they are tested against sit under the same name in engine/cpu/reference/, namespace
// heed::cpu::reference. copy, fill, unary, binary, where and the index kernels have no twin:
// each is already the plain loop over its views (only split across threads), checked in the
// tests against values computed independently.
#pragma once

#include "engine/backend.hpp"

namespace heed::cpu {

// Records `message` for the table's last_error() and returns a failure status. The op layer
// never sends bad input; this is for what it cannot rule out, such as an op code added to
// backend.hpp with no kernel here yet (an error, never a silently unwritten output).
int report_error(const char* kernel, const char* what, int32_t code);
const char* last_error();

int copy(const heed_view* src, const heed_view* dst);
int fill(const heed_view* dst, double value);
int unary(int32_t op, double a, double b, const heed_view* x, const heed_view* y);
int binary(int32_t op, const heed_view* a, const heed_view* b, const heed_view* out);
int where(const heed_view* condition, const heed_view* a, const heed_view* b, const heed_view* out);
int reduce_rows(int32_t op, const heed_view* x, const heed_view* out);
int gemm(int32_t dtype, int64_t batch, int64_t m, int64_t n, int64_t k, double alpha, heed_matrix a,
         heed_matrix b, double beta, heed_matrix c);
int softmax_forward(const heed_view* x, const heed_softmax_mask* mask, int32_t log,
                    const heed_view* y);
int softmax_backward(const heed_view* y, const heed_view* dy, int32_t log, const heed_view* dx);
int layer_norm_forward(const heed_view* x, const heed_view* weight, const heed_view* bias,
                       double eps, const heed_view* y, const heed_view* mean,
                       const heed_view* rstd);
int layer_norm_backward(const heed_view* dy, const heed_view* x, const heed_view* weight,
                        const heed_view* mean, const heed_view* rstd, const heed_view* dx,
                        const heed_view* dweight, const heed_view* dbias);
int index_select(const heed_view* x, const heed_view* index, const heed_view* out);
int index_add(const heed_view* src, const heed_view* index, const heed_view* out);
int gather(const heed_view* x, const heed_view* index, const heed_view* out);
int scatter_add(const heed_view* src, const heed_view* index, const heed_view* out);
int cross_entropy_forward(const heed_view* logits, const heed_view* targets, int64_t ignore_index,
                          const heed_view* loss);
int cross_entropy_backward(const heed_view* logits, const heed_view* targets, int64_t ignore_index,
                           const heed_view* row_grad, const heed_view* dlogits);

// Threads for oneTBB and OpenBLAS together.
void set_num_threads(int32_t threads);
int32_t num_threads();

int gru_cell_forward(const heed_view* input_gates, const heed_view* hidden_gates,
                     const heed_view* h, const heed_view* h_next, const heed_view* gates);
int gru_cell_backward(const heed_view* dh_next, const heed_view* gates,
                      const heed_view* hidden_gates, const heed_view* h,
                      const heed_view* dinput_gates, const heed_view* dhidden_gates,
                      const heed_view* dh);

int additive_scores_forward(const heed_view* query_features, const heed_view* key_features,
                            const heed_view* w, const heed_view* scores);
int additive_scores_backward(const heed_view* dscores, const heed_view* query_features,
                             const heed_view* key_features, const heed_view* w,
                             const heed_view* dquery_features, const heed_view* dkey_features,
                             const heed_view* dw);
int adam_step(const heed_view* param, const heed_view* grad, const heed_view* exp_avg,
              const heed_view* exp_avg_sq, const heed_adam_options* options);
int attention_forward(const heed_view* q, const heed_view* k, const heed_view* v,
                      const heed_view* key_keep, int32_t causal, double scale, const heed_view* out,
                      const heed_view* logsumexp);
int attention_backward(const heed_view* q, const heed_view* k, const heed_view* v,
                       const heed_view* key_keep, int32_t causal, double scale,
                       const heed_view* out, const heed_view* logsumexp, const heed_view* dout,
                       const heed_view* dq, const heed_view* dk, const heed_view* dv);
int im2col(const heed_view* x, const heed_window2d* window, const heed_view* cols);
int col2im(const heed_view* cols, const heed_window2d* window, const heed_view* x);
int conv2d_forward(const heed_view* x, const heed_view* weight, const heed_view* bias,
                   const heed_window2d* window, int64_t groups, const heed_view* y);
int conv2d_backward(const heed_view* x, const heed_view* weight, const heed_view* dy,
                    const heed_window2d* window, int64_t groups, const heed_view* dx,
                    const heed_view* dweight, const heed_view* dbias);
int max_pool2d_indices(const heed_view* x, const heed_window2d* window, const heed_view* indices);

namespace reference {
int gemm(int32_t dtype, int64_t batch, int64_t m, int64_t n, int64_t k, double alpha, heed_matrix a,
         heed_matrix b, double beta, heed_matrix c);
int softmax_forward(const heed_view* x, const heed_softmax_mask* mask, int32_t log,
                    const heed_view* y);
int softmax_backward(const heed_view* y, const heed_view* dy, int32_t log, const heed_view* dx);
int layer_norm_forward(const heed_view* x, const heed_view* weight, const heed_view* bias,
                       double eps, const heed_view* y, const heed_view* mean,
                       const heed_view* rstd);
int layer_norm_backward(const heed_view* dy, const heed_view* x, const heed_view* weight,
                        const heed_view* mean, const heed_view* rstd, const heed_view* dx,
                        const heed_view* dweight, const heed_view* dbias);
int cross_entropy_forward(const heed_view* logits, const heed_view* targets, int64_t ignore_index,
                          const heed_view* loss);
int cross_entropy_backward(const heed_view* logits, const heed_view* targets, int64_t ignore_index,
                           const heed_view* row_grad, const heed_view* dlogits);
int reduce_rows(int32_t op, const heed_view* x, const heed_view* out);
int gru_cell_forward(const heed_view* input_gates, const heed_view* hidden_gates,
                     const heed_view* h, const heed_view* h_next, const heed_view* gates);
int gru_cell_backward(const heed_view* dh_next, const heed_view* gates,
                      const heed_view* hidden_gates, const heed_view* h,
                      const heed_view* dinput_gates, const heed_view* dhidden_gates,
                      const heed_view* dh);
int additive_scores_forward(const heed_view* query_features, const heed_view* key_features,
                            const heed_view* w, const heed_view* scores);
int additive_scores_backward(const heed_view* dscores, const heed_view* query_features,
                             const heed_view* key_features, const heed_view* w,
                             const heed_view* dquery_features, const heed_view* dkey_features,
                             const heed_view* dw);
int adam_step(const heed_view* param, const heed_view* grad, const heed_view* exp_avg,
              const heed_view* exp_avg_sq, const heed_adam_options* options);
int attention_forward(const heed_view* q, const heed_view* k, const heed_view* v,
                      const heed_view* key_keep, int32_t causal, double scale, const heed_view* out,
                      const heed_view* logsumexp);
int attention_backward(const heed_view* q, const heed_view* k, const heed_view* v,
                       const heed_view* key_keep, int32_t causal, double scale,
                       const heed_view* out, const heed_view* logsumexp, const heed_view* dout,
                       const heed_view* dq, const heed_view* dk, const heed_view* dv);
int im2col(const heed_view* x, const heed_window2d* window, const heed_view* cols);
int col2im(const heed_view* cols, const heed_window2d* window, const heed_view* x);
int max_pool2d_indices(const heed_view* x, const heed_window2d* window, const heed_view* indices);
}  // namespace reference

// The CPU backend's table, with the fast kernels or with the reference ones.
const heed_backend& backend();
const heed_backend& reference_backend();

}  // namespace heed::cpu
