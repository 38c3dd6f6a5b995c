// The fused GRU cell: one kernel forward, one backward, and the composite it is tested against.
#include "engine/ops/gru_cell.hpp"

#include "engine/ops/common.hpp"
#include "engine/ops/elementwise.hpp"

namespace heed {

namespace {

void check_gru_arguments(const Tensor& input_gates, const Tensor& hidden_gates, const Tensor& h) {
  ops::check_floating("gru_cell", h);
  ops::check_same_dtype_and_device("gru_cell", input_gates, h);
  ops::check_same_dtype_and_device("gru_cell", hidden_gates, h);
  const bool ok = h.dim() == 2 && input_gates.shape() == Shape{h.size(0), 3 * h.size(1)} &&
                  hidden_gates.shape() == input_gates.shape();
  if (!ok) {
    fail(
        "gru_cell: expected input_gates and hidden_gates of shape (B, 3H) and h of shape (B, H), "
        "got {}, {} and {}",
        shape_str(input_gates.shape()), shape_str(hidden_gates.shape()), shape_str(h.shape()));
  }
}

}  // namespace

Tensor gru_cell(const Tensor& input_gates, const Tensor& hidden_gates, const Tensor& h) {
  const profiler::Scope profiled("gru_cell");
  check_gru_arguments(input_gates, hidden_gates, h);
  const Tensor in = input_gates.detach().contiguous(), hid = hidden_gates.detach().contiguous();
  const Tensor previous = h.detach().contiguous();
  Tensor h_next = empty(h.shape(), {h.dtype(), h.device()});           // (B, H)
  Tensor gates = empty(input_gates.shape(), {h.dtype(), h.device()});  // (B, 3H): r, z, n
  ops::call_kernel(h, &heed_backend::gru_cell_forward, "gru_cell_forward", in, hid, previous,
                   h_next, gates);
  return record(h_next, "gru_cell", {input_gates, hidden_gates, h},
                [gates, hid, previous](const Tensor& dh_next) {
                  // with h_n = the hidden gates' n block and dh' = dh_next:
                  // dn = dh' (1 - z) (1 - n^2);  dz = dh' (h - n) z (1 - z)
                  // dr = dn h_n r (1 - r);  dh = dh' z
                  // d input_gates = [dr, dz, dn];  d hidden_gates = [dr, dz, dn r]
                  const TensorOptions like{dh_next.dtype(), dh_next.device()};
                  Tensor d_in = empty(gates.shape(), like);   // (B, 3H)
                  Tensor d_hid = empty(gates.shape(), like);  // (B, 3H)
                  Tensor dh = empty(previous.shape(), like);  // (B, H)
                  ops::call_kernel(dh, &heed_backend::gru_cell_backward, "gru_cell_backward",
                                   dh_next.contiguous(), gates, hid, previous, d_in, d_hid, dh);
                  return std::vector<Tensor>{d_in, d_hid, dh};
                });
}

Tensor gru_cell_composite(const Tensor& input_gates, const Tensor& hidden_gates, const Tensor& h) {
  check_gru_arguments(input_gates, hidden_gates, h);
  const std::vector<Tensor> in = input_gates.chunk(3, 1);  // each (B, H)
  const std::vector<Tensor> hid = hidden_gates.chunk(3, 1);
  const Tensor r = sigmoid(in[0] + hid[0]);
  const Tensor z = sigmoid(in[1] + hid[1]);
  const Tensor n = tanh(in[2] + r * hid[2]);
  return n + z * (h - n);  // = (1 - z) n + z h
}

}  // namespace heed
