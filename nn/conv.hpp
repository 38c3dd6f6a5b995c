// Convolution layers, PyTorch's nn.Conv2d and nn.ConvTranspose2d: the same parameter names,
// weight layouts and default initialisation (weights and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
// fan_in = the inputs one output pixel sums over), so weights move between the two as they are.
#pragma once

#include "engine/ops/conv.hpp"
#include "nn/module.hpp"

namespace heed::nn {

class Conv2d : public UnaryModule {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, Size2d kernel_size,
         const Conv2dOptions& options = {}, bool bias = true, DType dtype = kFloat32);
  Tensor forward(const Tensor& x) override;  // (N, in, H, W) -> (N, out, bh, bw)

  int64_t in_channels, out_channels;
  Size2d kernel_size;
  Conv2dOptions options;
  Tensor weight;  // (out, in / groups, kh, kw)
  Tensor bias;    // (out), undefined when bias = false

 protected:
  std::string extra_repr() const override;
};

class ConvTranspose2d : public UnaryModule {
 public:
  ConvTranspose2d(int64_t in_channels, int64_t out_channels, Size2d kernel_size,
                  const ConvTranspose2dOptions& options = {}, bool bias = true,
                  DType dtype = kFloat32);
  Tensor forward(const Tensor& x) override;  // (N, in, H, W) -> (N, out, oh, ow)

  int64_t in_channels, out_channels;
  Size2d kernel_size;
  ConvTranspose2dOptions options;
  Tensor weight;  // (in, out / groups, kh, kw)
  Tensor bias;    // (out), undefined when bias = false

 protected:
  std::string extra_repr() const override;
};

}  // namespace heed::nn
