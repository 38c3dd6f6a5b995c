// 2-d pooling, PyTorch's max_pool2d and avg_pool2d (floor mode: windows never start in the
// right or bottom padding):
//   max_pool2d: the kernel picks each window's largest pixel, and gather takes it, so the
//     gradient flows back to that pixel alone (gather's backward is a scatter-add);
//   avg_pool2d: the mean of each window's column of unfold (zeros in the padding).
#pragma once

#include "engine/ops/conv.hpp"

namespace heed {

struct MaxPool2dOptions {
  Size2d stride = {0, 0};   // {0, 0}: the kernel size, PyTorch's default
  Size2d padding = {0, 0};  // at most half the kernel; never chosen
  Size2d dilation = {1, 1};
};

struct AvgPool2dOptions {
  Size2d stride = {0, 0};         // {0, 0}: the kernel size, PyTorch's default
  Size2d padding = {0, 0};        // zeros, at most half the kernel
  bool count_include_pad = true;  // divide by kh kw, or by the pixels inside only
};

// x (N, C, H, W) or (C, H, W) -> (N, C, bh, bw), bh = (H + 2 padding - dilation (kh - 1) - 1) /
// stride + 1 (and bw alike).
Tensor max_pool2d(const Tensor& x, Size2d kernel_size, const MaxPool2dOptions& options = {});
Tensor avg_pool2d(const Tensor& x, Size2d kernel_size, const AvgPool2dOptions& options = {});

}  // namespace heed
