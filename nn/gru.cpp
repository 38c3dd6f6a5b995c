// GRU, GRUCell and gru_step: the GRU's cell (two products and the fused gru_cell op) plugged
// into the shared recurrent machinery of recurrent.cpp.
#include "nn/gru.hpp"

namespace heed::nn {

Tensor gru_step(const Tensor& input_gates, const Tensor& h, const Tensor& weight_hh,
                const Tensor& bias_hh) {
  Tensor hidden_gates = mm(h, weight_hh.t());  // (B, 3H): W_h* h for r, z, n at once
  if (bias_hh.defined()) hidden_gates = hidden_gates + bias_hh;
  // The gate equations (see gru.hpp) as one fused op; gru_cell_composite spells them out.
  return gru_cell(input_gates, hidden_gates, h);  // (B, H)
}

GRUCell::GRUCell(int64_t input, int64_t hidden, bool bias, DType dtype)
    : RecurrentCell("GRUCell", 3, input, hidden, bias, dtype) {}

Tensor GRUCell::forward(const Tensor& x, const Tensor& h) {
  const Tensor gates = input_gates(x);  // (B, 3H)
  return gru_step(gates, state_or_zeros(h, x, "a hidden state"), weight_hh, bias_hh);
}

GRU::GRU(int64_t input, int64_t hidden, RecurrentOptions opts)
    : RecurrentLayers("GRU", 3, input, hidden, opts) {}

std::pair<Tensor, Tensor> GRU::forward(const Tensor& input, const Tensor& h0) {
  auto [output, state] =
      run(input, h0.defined() ? std::vector<Tensor>{h0} : std::vector<Tensor>{}, 1);
  return {output, state[0]};
}

std::vector<Tensor> GRU::step(const Tensor& input_gates, const std::vector<Tensor>& state,
                              const RecurrentWeights& w) const {
  return {gru_step(input_gates, state[0], w.weight_hh, w.bias_hh)};
}

}  // namespace heed::nn
