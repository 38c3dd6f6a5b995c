// What GRU and LSTM share: PyTorch's parameter layout for stacked, optionally bidirectional
// recurrent layers, and the loop that runs them over time. A subclass supplies only the cell:
// how one time step turns the input's gate pre-activations and the state into the next state.
//
// Parameters, per layer l and direction ("" or "_reverse"), with G gates (GRU 3, LSTM 4):
//   weight_ih_l{l}{sfx} (G*H, in)   weight_hh_l{l}{sfx} (G*H, H)
//   bias_ih_l{l}{sfx}   (G*H)       bias_hh_l{l}{sfx}   (G*H)
// all U(-1/sqrt(H), 1/sqrt(H)), as in PyTorch. Layer 0 reads the input; layer l > 0 reads the
// outputs of layer l-1 (both directions concatenated), with dropout between layers in training.
#pragma once

#include <vector>

#include "nn/module.hpp"

namespace heed::nn {

struct RecurrentOptions {
  int64_t num_layers = 1;
  bool bias = true;
  bool batch_first = false;  // input (B, T, in) instead of (T, B, in)
  double dropout = 0.0;      // on the outputs of every layer but the last, while training
  bool bidirectional = false;
  DType dtype = kFloat32;
};

// The weights of one layer in one direction.
struct RecurrentWeights {
  Tensor weight_ih, weight_hh, bias_ih, bias_hh;  // biases undefined without bias
};

// What GRUCell and LSTMCell share: the four parameters (no layer suffix) and the input's share of
// the gates.
class RecurrentCell : public Module {
 public:
  int64_t input_size, hidden_size;
  Tensor weight_ih, weight_hh, bias_ih, bias_hh;  // (G*H, in), (G*H, H), (G*H), (G*H)

 protected:
  RecurrentCell(std::string type_name, int64_t gates, int64_t input_size, int64_t hidden_size,
                bool bias, DType dtype);
  Tensor input_gates(const Tensor& x) const;  // x (B, in) -> x W_ih^T + b_ih (B, G*H)
  // `state` if given (checked to be (B, H)), else zeros of that shape.
  Tensor state_or_zeros(const Tensor& state, const Tensor& x, const char* what) const;
  std::string extra_repr() const override;
};

class RecurrentLayers : public Module {
 public:
  int64_t input_size, hidden_size;
  RecurrentOptions options;
  int64_t num_directions() const { return options.bidirectional ? 2 : 1; }

 protected:
  RecurrentLayers(std::string type_name, int64_t gates, int64_t input_size, int64_t hidden_size,
                  RecurrentOptions options);

  // One step of the cell: `input_gates` = x_t W_ih^T + b_ih (B, G*H) and the state before the
  // step (one tensor per state part, each (B, H)) -> the state after it. state[0] is h.
  virtual std::vector<Tensor> step(const Tensor& input_gates, const std::vector<Tensor>& state,
                                   const RecurrentWeights& weights) const = 0;

  // Runs every layer and direction. input (T, B, in) or (B, T, in); initial: one tensor per
  // state part, each (L * D, B, H), or empty for zeros. Returns the last layer's outputs
  // (T, B, D * H) (batch first if asked) and the final state parts, each (L * D, B, H).
  std::pair<Tensor, std::vector<Tensor>> run(const Tensor& input, std::vector<Tensor> initial,
                                             int64_t state_parts) const;

  std::string extra_repr() const override;

 private:
  std::vector<RecurrentWeights> weights_;  // layer-major: [l * D + direction]
};

}  // namespace heed::nn
