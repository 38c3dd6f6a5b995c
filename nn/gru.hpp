// Gated recurrent units, PyTorch's equations and gate order (r, z, n):
//   r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)        reset gate
//   z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)        update gate
//   n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))     candidate
//   h' = (1 - z) * n + z * h
#pragma once

#include "nn/recurrent.hpp"

namespace heed::nn {

// One GRU step from the input's gate pre-activations input_gates = x W_ih^T + b_ih (B, 3H).
Tensor gru_step(const Tensor& input_gates, const Tensor& h, const Tensor& weight_hh,
                const Tensor& bias_hh);

// A single cell: (x (B, in), h (B, H)) -> h' (B, H). Parameters weight_ih, weight_hh, bias_ih,
// bias_hh as in PyTorch's nn.GRUCell.
class GRUCell : public RecurrentCell {
 public:
  GRUCell(int64_t input_size, int64_t hidden_size, bool bias = true, DType dtype = kFloat32);
  Tensor forward(const Tensor& x, const Tensor& h = {});
  Tensor operator()(const Tensor& x, const Tensor& h = {}) { return forward(x, h); }
};

// Stacked GRU layers: input (T, B, in) (or (B, T, in) with batch_first), optional h0
// (L * D, B, H) -> output (T, B, D * H) and h_n (L * D, B, H), as PyTorch's nn.GRU returns them.
class GRU : public RecurrentLayers {
 public:
  GRU(int64_t input_size, int64_t hidden_size, RecurrentOptions options = {});
  std::pair<Tensor, Tensor> forward(const Tensor& input, const Tensor& h0 = {});
  std::pair<Tensor, Tensor> operator()(const Tensor& input, const Tensor& h0 = {}) {
    return forward(input, h0);
  }

 protected:
  std::vector<Tensor> step(const Tensor& input_gates, const std::vector<Tensor>& state,
                           const RecurrentWeights& weights) const override;
};

}  // namespace heed::nn
