// Losses computed by the engine: cross-entropy over class indices.
#pragma once

#include "engine/tensor.hpp"

namespace heed {

enum class Reduction { None, Mean, Sum };

struct CrossEntropyOptions {
  int64_t ignore_index = -100;  // targets equal to this count for nothing, as in PyTorch
  Reduction reduction = Reduction::Mean;
};

// logits (N, C) with targets (N,), or (N, C, d1, ...) with targets (N, d1, ...), or (C,) with a
// 0-d target. Mean divides by the number of targets that are not ignore_index; when every
// target is ignored the mean is 0 (PyTorch gives NaN there) and so is its gradient.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, CrossEntropyOptions options = {});

// The same loss written as log_softmax then picking the target: the unfused reference that
// the fused cross_entropy is tested against.
Tensor cross_entropy_composite(const Tensor& logits, const Tensor& targets,
                               CrossEntropyOptions options = {});

}  // namespace heed
