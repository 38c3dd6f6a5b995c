// 2-d convolutions as one matrix product between two data movements, PyTorch's conv2d,
// conv_transpose2d, unfold and fold:
//   unfold (im2col) copies every window of the image into a column, so conv2d is
//     y = weight (O, C kh kw) @ unfold(x) (C kh kw, L)   per image, L = the output's pixels;
//   fold (col2im) adds columns back onto the pixels they came from: unfold's adjoint, so each is
//     the other's backward, and the transposed convolution is fold(weight^T @ x).
// docs/ops.md lists them; docs/attention_zoo.md shows them at work.
#pragma once

#include <array>
#include <cstdint>

#include "engine/tensor.hpp"

namespace heed {

// A window's size, stride, padding or dilation: {height, width}.
using Size2d = std::array<int64_t, 2>;

struct UnfoldOptions {
  Size2d dilation = {1, 1};  // distance between a window's taps
  Size2d padding = {0, 0};   // zeros added on each side
  Size2d stride = {1, 1};    // distance between windows
};

// x (N, C, H, W) -> (N, C * kh * kw, L): column l holds the l-th window (row-major over the
// bh x bw placements, bh = (H + 2 padding - dilation (kh - 1) - 1) / stride + 1), rows in
// (channel, tap row, tap column) order.
Tensor unfold(const Tensor& x, Size2d kernel_size, const UnfoldOptions& options = {});

// cols (N, C * kh * kw, L) -> (N, C, output_size): every element added to the pixel unfold would
// have read it from (padding dropped). L must be the placements output_size allows.
Tensor fold(const Tensor& cols, Size2d output_size, Size2d kernel_size,
            const UnfoldOptions& options = {});

struct Conv2dOptions {
  Size2d stride = {1, 1};
  Size2d padding = {0, 0};
  Size2d dilation = {1, 1};
  int64_t groups = 1;  // channels split in groups convolved apart (groups = C: depthwise)
};

// x (N, C, H, W) or (C, H, W), weight (O, C / groups, kh, kw), bias (O) or undefined
//   -> (N, O, bh, bw), bh and bw as unfold's; weight's layout is PyTorch's nn.Conv2d's.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {},
              const Conv2dOptions& options = {});

struct ConvTranspose2dOptions {
  Size2d stride = {1, 1};
  Size2d padding = {0, 0};         // cropped from each side of the output
  Size2d output_padding = {0, 0};  // added to one side, < stride or < dilation (picks a size)
  Size2d dilation = {1, 1};
  int64_t groups = 1;
};

// x (N, C, H, W) or (C, H, W), weight (C, O / groups, kh, kw), bias (O) or undefined
//   -> (N, O, oh, ow), oh = (H - 1) stride - 2 padding + dilation (kh - 1) + output_padding + 1:
// the gradient of conv2d with respect to its input, as a layer (PyTorch's ConvTranspose2d).
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {},
                        const ConvTranspose2dOptions& options = {});

}  // namespace heed
