// Recurrent cells as fused ops: the elementwise part of a step in one kernel each way, where the
// composite would record a dozen nodes per time step. The matrix products stay outside (mm).
#pragma once

#include "engine/tensor.hpp"

namespace heed {

// One GRU step after its products: input_gates = x W_ih^T + b_ih and hidden_gates =
// h W_hh^T + b_hh, each (B, 3H) with blocks r, z, n (PyTorch's order); h (B, H) -> h' (B, H):
//   r = sigmoid(i_r + h_r), z = sigmoid(i_z + h_z), n = tanh(i_n + r * h_n), h' = (1 - z) n + z h
Tensor gru_cell(const Tensor& input_gates, const Tensor& hidden_gates, const Tensor& h);

// The same from elementwise ops: the reference the fused op is tested against.
Tensor gru_cell_composite(const Tensor& input_gates, const Tensor& hidden_gates, const Tensor& h);

}  // namespace heed
