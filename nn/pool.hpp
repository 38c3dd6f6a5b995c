// Pooling layers and Flatten, PyTorch's nn.MaxPool2d, nn.AvgPool2d and nn.Flatten: no
// parameters, the engine's max_pool2d, avg_pool2d and a reshape.
#pragma once

#include "engine/ops/pool.hpp"
#include "nn/module.hpp"

namespace heed::nn {

class MaxPool2d : public UnaryModule {
 public:
  explicit MaxPool2d(Size2d kernel_size, const MaxPool2dOptions& options = {});
  Tensor forward(const Tensor& x) override;  // (N, C, H, W) -> (N, C, bh, bw)

  Size2d kernel_size;
  MaxPool2dOptions options;

 protected:
  std::string extra_repr() const override;
};

class AvgPool2d : public UnaryModule {
 public:
  explicit AvgPool2d(Size2d kernel_size, const AvgPool2dOptions& options = {});
  Tensor forward(const Tensor& x) override;  // (N, C, H, W) -> (N, C, bh, bw)

  Size2d kernel_size;
  AvgPool2dOptions options;

 protected:
  std::string extra_repr() const override;
};

// Folds dims start_dim..end_dim into one: (N, C, H, W) -> (N, C H W) with the defaults.
class Flatten : public UnaryModule {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1);
  Tensor forward(const Tensor& x) override;

  int64_t start_dim, end_dim;

 protected:
  std::string extra_repr() const override;
};

}  // namespace heed::nn
