// LSTM, LSTMCell and lstm_step: the LSTM's gates as elementwise ops, plugged into the shared
// recurrent machinery of recurrent.cpp.
#include "nn/lstm.hpp"

namespace heed::nn {

std::vector<Tensor> lstm_step(const Tensor& input_gates, const Tensor& h, const Tensor& c,
                              const Tensor& weight_hh, const Tensor& bias_hh) {
  Tensor all_gates = input_gates + mm(h, weight_hh.t());  // (B, 4H)
  if (bias_hh.defined()) all_gates = all_gates + bias_hh;
  const std::vector<Tensor> gate = all_gates.chunk(4, 1);  // i, f, g, o, each (B, H)
  const Tensor c_next = sigmoid(gate[1]) * c + sigmoid(gate[0]) * tanh(gate[2]);  // (B, H)
  const Tensor h_next = sigmoid(gate[3]) * tanh(c_next);                          // (B, H)
  return {h_next, c_next};
}

LSTMCell::LSTMCell(int64_t input, int64_t hidden, bool bias, DType dtype)
    : RecurrentCell("LSTMCell", 4, input, hidden, bias, dtype) {}

std::pair<Tensor, Tensor> LSTMCell::forward(const Tensor& x, const Tensor& h, const Tensor& c) {
  const Tensor gates = input_gates(x);  // (B, 4H)
  const std::vector<Tensor> next =
      lstm_step(gates, state_or_zeros(h, x, "h"), state_or_zeros(c, x, "c"), weight_hh, bias_hh);
  return {next[0], next[1]};
}

LSTM::LSTM(int64_t input, int64_t hidden, RecurrentOptions opts)
    : RecurrentLayers("LSTM", 4, input, hidden, opts) {}

std::pair<Tensor, LSTMState> LSTM::forward(const Tensor& input, const LSTMState& initial) {
  if (initial.h.defined() != initial.c.defined()) {
    fail("LSTM: pass both h0 and c0, or neither");
  }
  std::vector<Tensor> start;
  if (initial.h.defined()) start = {initial.h, initial.c};
  auto [output, state] = run(input, start, 2);
  return {output, LSTMState{state[0], state[1]}};
}

std::vector<Tensor> LSTM::step(const Tensor& input_gates, const std::vector<Tensor>& state,
                               const RecurrentWeights& w) const {
  return lstm_step(input_gates, state[0], state[1], w.weight_hh, w.bias_hh);
}

}  // namespace heed::nn
