// Long short-term memory, PyTorch's equations and gate order (i, f, g, o):
//   i = sigmoid(W_ii x + b_ii + W_hi h + b_hi)    input gate
//   f = sigmoid(W_if x + b_if + W_hf h + b_hf)    forget gate
//   g = tanh(W_ig x + b_ig + W_hg h + b_hg)       candidate cell
//   o = sigmoid(W_io x + b_io + W_ho h + b_ho)    output gate
//   c' = f * c + i * g,   h' = o * tanh(c')
#pragma once

#include "nn/recurrent.hpp"

namespace heed::nn {

// One LSTM step from input_gates = x W_ih^T + b_ih (B, 4H): returns {h', c'}.
std::vector<Tensor> lstm_step(const Tensor& input_gates, const Tensor& h, const Tensor& c,
                              const Tensor& weight_hh, const Tensor& bias_hh);

// A single cell: (x (B, in), h (B, H), c (B, H)) -> (h', c'). As PyTorch's nn.LSTMCell.
class LSTMCell : public RecurrentCell {
 public:
  LSTMCell(int64_t input_size, int64_t hidden_size, bool bias = true, DType dtype = kFloat32);
  std::pair<Tensor, Tensor> forward(const Tensor& x, const Tensor& h = {}, const Tensor& c = {});
  std::pair<Tensor, Tensor> operator()(const Tensor& x, const Tensor& h = {},
                                       const Tensor& c = {}) {
    return forward(x, h, c);
  }
};

// The final state of an LSTM: h_n and c_n, each (L * D, B, H).
struct LSTMState {
  Tensor h, c;
};

// Stacked LSTM layers: input (T, B, in) (or batch first), optional (h0, c0) -> output
// (T, B, D * H) and (h_n, c_n), as PyTorch's nn.LSTM returns them.
class LSTM : public RecurrentLayers {
 public:
  LSTM(int64_t input_size, int64_t hidden_size, RecurrentOptions options = {});
  std::pair<Tensor, LSTMState> forward(const Tensor& input, const LSTMState& initial = {});
  std::pair<Tensor, LSTMState> operator()(const Tensor& input, const LSTMState& initial = {}) {
    return forward(input, initial);
  }

 protected:
  std::vector<Tensor> step(const Tensor& input_gates, const std::vector<Tensor>& state,
                           const RecurrentWeights& weights) const override;
};

}  // namespace heed::nn
