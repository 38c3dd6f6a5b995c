// Matrix products: matmul with NumPy-style broadcast batch dims (and PyTorch's 1-D rules),
// bmm for 3-D batches, mm for 2-D.
#pragma once

#include "engine/tensor.hpp"

namespace heed {

Tensor matmul(const Tensor& a, const Tensor& b);
Tensor bmm(const Tensor& a, const Tensor& b);  // (B, M, K) @ (B, K, N) -> (B, M, N)
Tensor mm(const Tensor& a, const Tensor& b);   // (M, K) @ (K, N) -> (M, N)

}  // namespace heed
