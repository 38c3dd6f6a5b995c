// Everything the engine offers, in one include.
#pragma once

#include "engine/autograd.hpp"
#include "engine/device_backends.hpp"
#include "engine/error.hpp"
#include "engine/generator.hpp"
#include "engine/io/safetensors.hpp"
#include "engine/ops/adam.hpp"
#include "engine/ops/additive_scores.hpp"
#include "engine/ops/attention.hpp"
#include "engine/ops/conv.hpp"
#include "engine/ops/cross_entropy.hpp"
#include "engine/ops/dropout.hpp"
#include "engine/ops/elementwise.hpp"
#include "engine/ops/gru_cell.hpp"
#include "engine/ops/index.hpp"
#include "engine/ops/layer_norm.hpp"
#include "engine/ops/matmul.hpp"
#include "engine/ops/pool.hpp"
#include "engine/ops/reduce.hpp"
#include "engine/ops/shape.hpp"
#include "engine/ops/softmax.hpp"
#include "engine/profiler.hpp"
#include "engine/tensor.hpp"

#include <fmt/format.h>
#include <ostream>

// fmt::print("{}", tensor) and std::cout << tensor print PyTorch's layout.
template <>
struct fmt::formatter<heed::Tensor> : fmt::formatter<std::string> {
  auto format(const heed::Tensor& t, fmt::format_context& ctx) const {
    return fmt::formatter<std::string>::format(heed::to_string(t), ctx);
  }
};

namespace heed {
inline std::ostream& operator<<(std::ostream& out, const Tensor& t) {
  return out << to_string(t);
}
}  // namespace heed
