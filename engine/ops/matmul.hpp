// Matrix products: matmul with NumPy-style broadcast batch dims (and PyTorch's 1-D rules),
// bmm for 3-D batches, mm for 2-D, addmm for a 2-D product plus a bias.
#pragma once

#include "engine/tensor.hpp"

namespace heed {

Tensor matmul(const Tensor& a, const Tensor& b);
Tensor bmm(const Tensor& a, const Tensor& b);  // (B, M, K) @ (B, K, N) -> (B, M, N)
Tensor mm(const Tensor& a, const Tensor& b);   // (M, K) @ (K, N) -> (M, N)
// bias + a @ b, bias (N), (1, N), (M, 1), (M, N) or 0-D: one gemm that adds the product to the
// bias already in the output (PyTorch's addmm; a Linear layer's forward). Without it the bias is
// a second pass over the (M, N) result.
Tensor addmm(const Tensor& bias, const Tensor& a, const Tensor& b);

}  // namespace heed
