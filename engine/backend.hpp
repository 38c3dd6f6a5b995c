// The kernel interface a device provides. It is a plain C table of function pointers so that a
// backend can live in a separately built shared library (the CUDA plugin) and be loaded with
// dlopen: the plugin exports `heed_backend_init`, which returns a pointer to a filled table.
//
// Kernels know nothing of autograd or of heed::Tensor: they see raw views (pointer, dtype,
// shape, strides in elements). The op layer (engine/ops/) checks every argument before calling a
// kernel, so kernels may assume well-formed input; where a kernel says "contiguous", the op layer
// passes contiguous views. Every kernel returns 0 on success; on failure it returns non-zero
// and `last_error()` describes what happened (a device error, or an op code the backend has no
// kernel for: bad user input never gets here).
#pragma once

#include <stddef.h>
#include <stdint.h>

extern "C" {

// Bump when the table changes; the loader refuses a plugin built against another version.
enum { HEED_BACKEND_API_VERSION = 7, HEED_MAX_DIMS = 8 };

enum heed_dtype { HEED_FLOAT32 = 0, HEED_FLOAT64 = 1, HEED_INT64 = 2, HEED_BOOL = 3 };

// A strided view of device memory: element (i0, i1, ...) lives at data + sum(ik * strides[k]).
struct heed_view {
  void* data;
  int32_t dtype;
  int32_t ndim;
  int64_t shape[HEED_MAX_DIMS];
  int64_t strides[HEED_MAX_DIMS];  // in elements, may be 0 (broadcast) but never negative
};

enum heed_unary_op {
  HEED_NEG,
  HEED_EXP,
  HEED_LOG,
  HEED_SQRT,
  HEED_ABS,
  HEED_SIGN,
  HEED_TANH,
  HEED_SIGMOID,
  HEED_RELU,
  HEED_GELU_EXACT,
  HEED_GELU_TANH,
  HEED_GELU_EXACT_DERIVATIVE,  // d gelu(x) / dx, exact form
  HEED_GELU_TANH_DERIVATIVE,   // d gelu(x) / dx, tanh approximation
  HEED_POW_SCALAR,             // x ^ a
  HEED_CLAMP,                  // min(max(x, a), b)
  HEED_LOGICAL_NOT,
  HEED_LOG1P,  // log(1 + x), exact near 0
  HEED_EXPM1,  // exp(x) - 1, exact near 0
  HEED_SIN,
  HEED_COS,
  HEED_ERF,
  HEED_SILU,                 // x sigmoid(x)
  HEED_SILU_DERIVATIVE,      // d silu(x) / dx = s (1 + x (1 - s)), s = sigmoid(x)
  HEED_SOFTPLUS,             // log(1 + exp(a x)) / a, or x where a x > b (a: beta, b: threshold)
  HEED_SOFTPLUS_DERIVATIVE,  // sigmoid(a x), or 1 where a x > b
  HEED_UNARY_OP_COUNT,       // not an op: codes at or above it are unknown, and kernels refuse them
};

enum heed_binary_op {
  HEED_ADD,
  HEED_SUB,
  HEED_MUL,
  HEED_DIV,
  HEED_POW,
  HEED_MAXIMUM,
  HEED_MINIMUM,
  // comparisons write bool
  HEED_EQ,
  HEED_NE,
  HEED_LT,
  HEED_LE,
  HEED_GT,
  HEED_GE,
  HEED_BINARY_OP_COUNT,  // not an op: codes at or above it are unknown, and kernels refuse them
};

enum heed_reduce_op {
  HEED_SUM,
  HEED_MAX,
  HEED_MIN,
  HEED_ARGMAX,
  HEED_ARGMIN,
  HEED_REDUCE_OP_COUNT
};

// One operand of a batched matrix product: matrix b starts at data + b * batch_stride and
// element (i, j) sits at i * row_stride + j * col_stride. One of the two strides is 1.
struct heed_matrix {
  void* data;
  int64_t batch_stride;  // 0 repeats one matrix for every batch entry
  int64_t row_stride;
  int64_t col_stride;
};

// Which keys a row of masked softmax may attend to. x is contiguous (..., Q, K); row r holds
// query r % Q. Key j is kept when all of these allow it:
//   valid_lens: j < valid_lens[r / rows_per_valid_len]             (d2l's valid lengths)
//   keep:       keep[offset of element (row r, j)] != 0             (bool, broadcast to x's shape)
//   causal:     j <= (r % Q) + (K - Q)   (bottom-right aligned, so Q = 1 decoding sees all keys)
struct heed_softmax_mask {
  const int64_t* valid_lens;  // nullptr when absent
  int64_t rows_per_valid_len;
  const heed_view* keep;  // nullptr when absent; dtype bool, shape equal to x's
  int32_t causal;
};

// A 2-d sliding window (convolution, pooling): kernel[0] x kernel[1] taps, dilation apart, placed
// every stride over the input padded by padding on each side, blocks[0] x blocks[1] placements in
// all. Placement (by, bx), tap (i, j) reads input pixel
//   (by * stride[0] - padding[0] + i * dilation[0],  bx * stride[1] - padding[1] + j * dilation[1])
// and finds the padding there when that lies outside the input. Index 0 is height, 1 width.
struct heed_window2d {
  int64_t kernel[2], stride[2], padding[2], dilation[2], blocks[2];
};

struct heed_adam_options {
  double lr, beta1, beta2, eps, weight_decay;
  int32_t decoupled;  // AdamW
  double bias_correction1, bias_correction2;
};

struct heed_backend {
  uint32_t api_version;
  const char* name;

  // Memory. Host memory is plain CPU memory; a CPU backend copies with memcpy.
  void* (*allocate)(size_t bytes);
  void (*release)(void* pointer);
  int (*copy_from_host)(void* device_dst, const void* host_src, size_t bytes);
  int (*copy_to_host)(void* host_dst, const void* device_src, size_t bytes);

  // dst = src, element by element, converting dtype; both views have the same shape.
  int (*copy)(const heed_view* src, const heed_view* dst);
  int (*fill)(const heed_view* dst, double value);

  // Elementwise maps over views of one shape (broadcast inputs carry stride 0).
  int (*unary)(int32_t op, double a, double b, const heed_view* x, const heed_view* y);
  int (*binary)(int32_t op, const heed_view* a, const heed_view* b, const heed_view* out);
  int (*where)(const heed_view* condition, const heed_view* a, const heed_view* b,
               const heed_view* out);

  // x contiguous (rows, n) -> out (rows): sum, max, min, or the int64 index of max / min.
  int (*reduce_rows)(int32_t op, const heed_view* x, const heed_view* out);

  // c[b] = alpha * a[b] @ b[b] + beta * c[b] for b in [0, batch); a (m, k), b (k, n), c (m, n)
  // with c's col_stride 1. dtype is float32 or float64.
  int (*gemm)(int32_t dtype, int64_t batch, int64_t m, int64_t n, int64_t k, double alpha,
              heed_matrix a, heed_matrix b, double beta, heed_matrix c);

  // Softmax over the last dim of contiguous x into y; mask may be nullptr. With log != 0
  // computes log_softmax (mask must be nullptr then).
  int (*softmax_forward)(const heed_view* x, const heed_softmax_mask* mask, int32_t log,
                         const heed_view* y);
  // softmax: dx = y * (dy - sum(dy * y));  log_softmax: dx = dy - exp(y) * sum(dy). All contiguous.
  int (*softmax_backward)(const heed_view* y, const heed_view* dy, int32_t log,
                          const heed_view* dx);

  // Layer norm over the last dim of contiguous x (rows, d). weight and bias may be nullptr.
  // Saves mean and 1/std per row for the backward.
  int (*layer_norm_forward)(const heed_view* x, const heed_view* weight, const heed_view* bias,
                            double eps, const heed_view* y, const heed_view* mean,
                            const heed_view* rstd);
  // dweight / dbias may be nullptr; they are overwritten, not accumulated.
  int (*layer_norm_backward)(const heed_view* dy, const heed_view* x, const heed_view* weight,
                             const heed_view* mean, const heed_view* rstd, const heed_view* dx,
                             const heed_view* dweight, const heed_view* dbias);

  // Contiguous x (outer, n, inner), int64 index (m) -> out (outer, m, inner): out[o, i] = x[o,
  // index[i]].
  int (*index_select)(const heed_view* x, const heed_view* index, const heed_view* out);
  // out (outer, n, inner) += src (outer, m, inner) scattered by index (m).
  int (*index_add)(const heed_view* src, const heed_view* index, const heed_view* out);
  // Contiguous x (outer, n, inner), index (outer, m, inner) -> out[o, i, j] = x[o, index[o, i, j],
  // j].
  int (*gather)(const heed_view* x, const heed_view* index, const heed_view* out);
  // out (outer, n, inner) += src (outer, m, inner) at index (outer, m, inner).
  int (*scatter_add)(const heed_view* src, const heed_view* index, const heed_view* out);

  // Contiguous logits (n, c), int64 targets (n): loss[i] = logsumexp(logits[i]) - logits[i, t_i],
  // and 0 where t_i == ignore_index.
  int (*cross_entropy_forward)(const heed_view* logits, const heed_view* targets,
                               int64_t ignore_index, const heed_view* loss);
  // dlogits[i] = row_grad[i] * (softmax(logits[i]) - onehot(t_i)), and 0 for ignored rows.
  int (*cross_entropy_backward)(const heed_view* logits, const heed_view* targets,
                                int64_t ignore_index, const heed_view* row_grad,
                                const heed_view* dlogits);

  // One GRU step, fused (PyTorch's equations), all contiguous: input_gates and hidden_gates (B, 3H)
  // are the input's and the state's gate pre-activations (r, z, n blocks), h (B, H). Writes
  // h_next (B, H) and gates (B, 3H) = the activated r, z, n, kept for the backward.
  int (*gru_cell_forward)(const heed_view* input_gates, const heed_view* hidden_gates,
                          const heed_view* h, const heed_view* h_next, const heed_view* gates);
  // From dh_next (B, H) and the saved gates, hidden_gates and h: the gradients of the three inputs.
  int (*gru_cell_backward)(const heed_view* dh_next, const heed_view* gates,
                           const heed_view* hidden_gates, const heed_view* h,
                           const heed_view* dinput_gates, const heed_view* dhidden_gates,
                           const heed_view* dh);

  // Bahdanau's additive attention scores, fused, all contiguous: query_features (B, Q, H),
  // key_features (B, K, H), w (H) -> scores (B, Q, K) with
  //   scores[b, q, k] = sum_h w[h] * tanh(query_features[b, q, h] + key_features[b, k, h]).
  int (*additive_scores_forward)(const heed_view* query_features, const heed_view* key_features,
                                 const heed_view* w, const heed_view* scores);
  // From dscores (B, Q, K): the gradients of the three inputs (overwritten, not accumulated);
  // the tanh values are recomputed, not saved.
  int (*additive_scores_backward)(const heed_view* dscores, const heed_view* query_features,
                                  const heed_view* key_features, const heed_view* w,
                                  const heed_view* dquery_features, const heed_view* dkey_features,
                                  const heed_view* dw);

  // Scaled dot-product attention, fused: q (B, H, L, d), k (B, H, S, d), v (B, H, S, e) and
  // out (B, H, L, e) are views whose last dim is contiguous and whose rows do not overlap (row
  // stride >= row length; batch and head strides free), so heads split from (B, T, H, d) need no
  // copy; no dim is 0. key_keep: bool (B, S), contiguous, 1 keeps a key, or nullptr;
  // causal != 0 keeps query t to keys j <= t + S - L (as heed_softmax_mask). Writes
  //   out = softmax(scale q k^T, masked) v   and   logsumexp (B, H, L), contiguous,
  // and a row with no kept key gets out = 0 (its logsumexp is 0 and never read).
  int (*attention_forward)(const heed_view* q, const heed_view* k, const heed_view* v,
                           const heed_view* key_keep, int32_t causal, double scale,
                           const heed_view* out, const heed_view* logsumexp);
  // From dout (like out) and the forward's out and logsumexp: dq, dk, dv, contiguous, overwritten.
  int (*attention_backward)(const heed_view* q, const heed_view* k, const heed_view* v,
                            const heed_view* key_keep, int32_t causal, double scale,
                            const heed_view* out, const heed_view* logsumexp, const heed_view* dout,
                            const heed_view* dq, const heed_view* dk, const heed_view* dv);

  // im2col: x (N, C, H, W) contiguous -> cols (N, C * kernel[0] * kernel[1], blocks[0] *
  // blocks[1]): cols[n, (c, i, j), (by, bx)] = the pixel tap (i, j) of placement (by, bx) reads in
  // channel c, or 0 in the padding. cols' last dim is contiguous; its first two may have any
  // strides, so a convolution can have im2col write (C kh kw, N, L) for one matrix product over the
  // batch.
  int (*im2col)(const heed_view* x, const heed_window2d* window, const heed_view* cols);
  // col2im, im2col's adjoint: x (N, C, H, W) = 0, then every element of cols added to the pixel it
  // was read from (padding taps dropped). x contiguous and overwritten; cols strided as above.
  int (*col2im)(const heed_view* cols, const heed_window2d* window, const heed_view* x);
  // conv2d in one call, an optional pair of entries, both or neither (the loader refuses one
  // alone): a backend that leaves them nullptr gets conv2d composed by the op layer from im2col,
  // gemm and col2im (the CUDA plugin does). No dim is 0. All views contiguous: x (N, C, H, W),
  // weight (O, C / groups, kernel[0], kernel[1]), bias (O) or nullptr, y (N, O, blocks[0],
  // blocks[1]) overwritten with
  //   y[n, o] = bias[o] + sum over the channels c of o's group and taps (i, j) of
  //             weight[o, c, i, j] * (the pixel tap (i, j) reads in channel c, 0 in the padding).
  int (*conv2d_forward)(const heed_view* x, const heed_view* weight, const heed_view* bias,
                        const heed_window2d* window, int64_t groups, const heed_view* y);
  // From dy (like y), contiguous: dx (like x), dweight (like weight) and dbias (O), each nullptr
  // when not wanted, overwritten (not accumulated). x is read only for dweight: without dweight
  // it may be nullptr, dx then giving x's shape (conv_transpose2d's forward is this dx).
  int (*conv2d_backward)(const heed_view* x, const heed_view* weight, const heed_view* dy,
                         const heed_window2d* window, int64_t groups, const heed_view* dx,
                         const heed_view* dweight, const heed_view* dbias);
  // Max pooling's choice: x (N, C, H, W) contiguous -> indices (N, C, blocks[0] * blocks[1]) int64,
  // the flat index h * W + w of the largest pixel of each placement (the first of equals; a NaN
  // wins, the last of several, as in PyTorch). Padding never wins; the op layer guarantees every
  // placement covers a pixel.
  int (*max_pool2d_indices)(const heed_view* x, const heed_window2d* window,
                            const heed_view* indices);

  // One Adam step on one parameter, in place, all four views contiguous and of one shape, in
  // PyTorch's order of operations (see nn/optim.hpp). decoupled != 0 is AdamW's weight decay.
  // bias_correction1/2 are 1 - beta1^t and 1 - beta2^t for step t.
  int (*adam_step)(const heed_view* param, const heed_view* grad, const heed_view* exp_avg,
                   const heed_view* exp_avg_sq, const heed_adam_options* options);

  // Thread count for the backend's pools (CPU: oneTBB and OpenBLAS together).
  void (*set_num_threads)(int32_t threads);
  const char* (*last_error)(void);
};

// The symbol a plugin exports; returns nullptr when the device cannot be used, with a reason in
// `*reason` (a static string owned by the plugin).
typedef const heed_backend* (*heed_backend_init_fn)(const char** reason);

}  // extern "C"
