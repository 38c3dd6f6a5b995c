// Convolutions: unfold (im2col) and fold (col2im), each the other's backward, and conv2d and
// conv_transpose2d composed from them and matmul, so the gradients of the weights come from the
// matrix product's backward. A backend with a fused conv2d (the CPU's) runs conv2d in one kernel
// each way instead, and conv_transpose2d with the same kernels (it is conv2d's adjoint); the
// composition stays as the path of every other backend and as the reference the fused kernels
// are tested against.
#include "engine/ops/conv.hpp"

#include "engine/checked_size.hpp"
#include "engine/ops/common.hpp"
#include "engine/ops/elementwise.hpp"
#include "engine/ops/matmul.hpp"
#include "engine/ops/window2d.hpp"

namespace heed {

namespace {

int64_t checked_product(const char* op, int64_t a, int64_t b) {
  int64_t product = 0;
  if (!multiply_fits(a, b, product)) fail("{}: {} x {} elements is too many", op, a, b);
  return product;
}

// How a tensor of columns is laid out. unfold's (PyTorch's): (N, C kh kw, L), each image's
// columns together (conv2d uses it too: a product per image, spread over the threads). The
// transposed convolution's: (C kh kw, N, L), the images side by side in each row, so that one
// matrix product (weight^T times x's (C, N H W)) covers the whole batch.
enum class ColsLayout { per_image, batch_inner };

// The (N, C kh kw, L) view the kernels take, whichever the layout.
Tensor kernel_view(const Tensor& cols, ColsLayout layout) {
  return layout == ColsLayout::per_image ? cols : cols.permute({1, 0, 2});
}

// image (N, C, H, W) -> cols (N, C kh kw, L) or (C kh kw, N, L)
Tensor im2col_kernel(const Tensor& image, const heed_window2d& window, ColsLayout layout) {
  const Tensor x = image.detach().contiguous();
  const int64_t taps = checked_product("unfold", window.kernel[0], window.kernel[1]);
  const int64_t rows = checked_product("unfold", x.size(1), taps);
  const int64_t L = checked_product("unfold", window.blocks[0], window.blocks[1]);
  const Shape shape =
      layout == ColsLayout::per_image ? Shape{x.size(0), rows, L} : Shape{rows, x.size(0), L};
  Tensor cols = empty(shape, {x.dtype(), x.device()});
  ops::call_kernel(x, &heed_backend::im2col, "im2col", x, &window, kernel_view(cols, layout));
  return cols;
}

// cols (N, C kh kw, L) or (C kh kw, N, L) -> image (N, C, H, W)
Tensor col2im_kernel(const Tensor& cols, const heed_window2d& window, const Shape& image_shape,
                     ColsLayout layout) {
  const Tensor c = cols.detach().contiguous();
  Tensor image = empty(image_shape, {c.dtype(), c.device()});  // (N, C, H, W)
  ops::call_kernel(c, &heed_backend::col2im, "col2im", kernel_view(c, layout), &window, image);
  return image;
}

// im2col and col2im with their gradients: each is the other's backward.
Tensor im2col(const Tensor& image, const heed_window2d& window,
              ColsLayout layout = ColsLayout::per_image) {
  const Shape image_shape = image.shape();
  return record(im2col_kernel(image, window, layout), "unfold", {image},
                [window, image_shape, layout](const Tensor& dcols) {
                  // cols = im2col(x): dx = col2im(dcols) (each pixel sums the columns it fed)
                  return std::vector<Tensor>{col2im_kernel(dcols, window, image_shape, layout)};
                });
}

Tensor col2im(const Tensor& cols, const heed_window2d& window, const Shape& image_shape,
              ColsLayout layout = ColsLayout::per_image) {
  return record(col2im_kernel(cols, window, image_shape, layout), "fold", {cols},
                [window, layout](const Tensor& dimage) {
                  // x = col2im(cols): dcols = im2col(dx) (each column reads its pixels' gradients)
                  return std::vector<Tensor>{im2col_kernel(dimage, window, layout)};
                });
}

void check_groups(const char* op, int64_t groups, int64_t in_channels, int64_t out_channels) {
  if (groups < 1 || in_channels % groups != 0 || out_channels % groups != 0) {
    fail("{}: groups must be >= 1 and divide both the {} input and {} output channels, got {}", op,
         in_channels, out_channels, groups);
  }
}

void check_weight_and_bias(const char* op, const Tensor& x, const Tensor& weight,
                           const Tensor& bias) {
  ops::check_defined(op, weight, "weight");
  ops::check_same_dtype_and_device(op, x, weight);
  if (weight.dim() != 4) {
    fail("{}: expected a weight of 4 dims, got shape {}", op, shape_str(weight.shape()));
  }
  if (bias.defined()) ops::check_same_dtype_and_device(op, x, bias);
}

void check_bias(const char* op, const Tensor& bias, int64_t out_channels) {
  if (bias.defined() && bias.shape() != Shape{out_channels}) {
    fail("{}: expected a bias of shape ({}), one per output channel, got {}", op, out_channels,
         shape_str(bias.shape()));
  }
}

Tensor with_bias(const char* op, const Tensor& y, const Tensor& bias) {
  if (!bias.defined()) return y;
  check_bias(op, bias, y.size(1));
  return y + bias.reshape({1, y.size(1), 1, 1});  // (N, O, bh, bw)
}

// conv2d in one kernel each way, on a backend that has them (the CPU's: engine/cpu/conv2d.cpp).
// Only x and the weight are kept for the backward, not the columns.
Tensor fused_conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias,
                    const heed_window2d& window, int64_t groups) {
  check_bias("conv2d", bias, weight.size(0));
  const Tensor x = input.detach().contiguous();                             // (N, C, H, W)
  const Tensor w = weight.detach().contiguous();                            // (O, C/g, kh, kw)
  const Tensor b = bias.defined() ? bias.detach().contiguous() : Tensor();  // (O)
  Tensor y = empty({x.size(0), w.size(0), window.blocks[0], window.blocks[1]},
                   {x.dtype(), x.device()});  // (N, O, bh, bw)
  ops::call_kernel(x, &heed_backend::conv2d_forward, "conv2d_forward", x, w, b, &window, groups, y);
  const bool need_dx = input.requires_grad(), need_dweight = weight.requires_grad();
  const bool need_dbias = bias.defined() && bias.requires_grad();
  return record(y, "conv2d", {input, weight, bias},
                [x, w, window, groups, need_dx, need_dweight, need_dbias](const Tensor& dy) {
                  // y[n] = W X[n] + b, X[n] the columns of x[n]: dW = sum over n of dy[n] X[n]^T
                  // dx[n] = col2im(W^T dy[n]), db = sum of dy over n, h, w
                  const TensorOptions like{x.dtype(), x.device()};
                  Tensor dx = need_dx ? empty(x.shape(), like) : Tensor();  // (N, C, H, W)
                  Tensor dweight = need_dweight ? empty(w.shape(), like) : Tensor();  // like w
                  Tensor dbias = need_dbias ? empty({w.size(0)}, like) : Tensor();    // (O)
                  ops::call_kernel(x, &heed_backend::conv2d_backward, "conv2d_backward", x, w,
                                   dy.contiguous(), &window, groups, dx, dweight, dbias);
                  return std::vector<Tensor>{dx, dweight, dbias};
                });
}

// conv_transpose2d is conv2d's adjoint. With A the convolution by the same weight from images
// like y (N, O, oh, ow) to images like x (N, C, H, W), y = A^T x is conv2d's dx with x in dy's
// place, and the backward is A itself: dx = A dy, a conv2d forward, and the weight's gradient is
// conv2d's for A with dy in x's place and x in dy's. On a backend with the fused conv2d (the
// CPU's) that is three calls of its kernels, and nothing but x and the weight is kept.
Tensor fused_conv_transpose2d(const Tensor& input, const Tensor& weight,
                              const heed_window2d& window, int64_t groups,
                              const Shape& output_shape) {
  const Tensor x = input.detach().contiguous();   // (N, C, H, W)
  const Tensor w = weight.detach().contiguous();  // (C, O/g, kh, kw): A's, from O channels to C
  Tensor y = empty(output_shape, {x.dtype(), x.device()});  // (N, O, oh, ow)
  // y = A^T x: conv2d_backward's dx for dy = x (its x, read only for dweight, stays absent)
  ops::call_kernel(x, &heed_backend::conv2d_backward, "conv2d_backward", Tensor(), w, x, &window,
                   groups, y, Tensor(), Tensor());
  const bool need_dx = input.requires_grad(), need_dweight = weight.requires_grad();
  return record(y, "conv_transpose2d", {input, weight},
                [x, w, window, groups, need_dx, need_dweight](const Tensor& dy) {
                  // dx = A dy (A: the conv2d it is the adjoint of); dweight: A's at dy, x
                  const TensorOptions like{x.dtype(), x.device()};
                  const Tensor d = dy.contiguous();                         // (N, O, oh, ow)
                  Tensor dx = need_dx ? empty(x.shape(), like) : Tensor();  // (N, C, H, W)
                  Tensor dweight = need_dweight ? empty(w.shape(), like) : Tensor();  // like w
                  if (need_dx) {
                    ops::call_kernel(x, &heed_backend::conv2d_forward, "conv2d_forward", d, w,
                                     Tensor(), &window, groups, dx);
                  }
                  if (need_dweight) {
                    ops::call_kernel(x, &heed_backend::conv2d_backward, "conv2d_backward", d, w, x,
                                     &window, groups, Tensor(), dweight, Tensor());
                  }
                  return std::vector<Tensor>{dx, dweight};
                });
}

}  // namespace

Tensor unfold(const Tensor& x, Size2d kernel_size, const UnfoldOptions& options) {
  const profiler::Scope profiled("unfold");
  ops::check_floating("unfold", x);
  if (x.dim() != 4) {
    fail("unfold: expected an input of shape (N, C, H, W), got {}", shape_str(x.shape()));
  }
  const ops::Window2d window{kernel_size, options.stride, options.padding, options.dilation};
  ops::check_window("unfold", window);
  const Size2d blocks = ops::placements("unfold", window, {x.size(2), x.size(3)});
  return im2col(x, ops::kernel_window(window, blocks));  // (N, C kh kw, L)
}

Tensor fold(const Tensor& cols, Size2d output_size, Size2d kernel_size,
            const UnfoldOptions& options) {
  const profiler::Scope profiled("fold");
  ops::check_floating("fold", cols);
  const ops::Window2d window{kernel_size, options.stride, options.padding, options.dilation};
  ops::check_window("fold", window);
  for (int axis = 0; axis < 2; ++axis) {
    if (output_size[axis] < 1) {
      fail("fold: expected an output {} >= 1, got {}", ops::axis_name(axis), output_size[axis]);
    }
  }
  const Size2d blocks = ops::placements("fold", window, output_size);
  const int64_t taps = checked_product("fold", kernel_size[0], kernel_size[1]);
  const int64_t windows = checked_product("fold", blocks[0], blocks[1]);
  if (cols.dim() != 3 || cols.size(1) % taps != 0 || cols.size(2) != windows) {
    fail(
        "fold: expected columns of shape (N, C * {}, {}) for a {}x{} kernel over a {}x{} output "
        "({} windows), got {}",
        taps, windows, kernel_size[0], kernel_size[1], output_size[0], output_size[1], windows,
        shape_str(cols.shape()));
  }
  const Shape image_shape{cols.size(0), cols.size(1) / taps, output_size[0], output_size[1]};
  return col2im(cols, ops::kernel_window(window, blocks), image_shape);  // (N, C, H, W)
}

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
              const Conv2dOptions& options) {
  const profiler::Scope profiled("conv2d");
  const char* op = "conv2d";
  const Tensor input = ops::as_image_batch(op, x);  // (N, C, H, W)
  check_weight_and_bias(op, x, weight, bias);
  const int64_t N = input.size(0), C = input.size(1), O = weight.size(0), g = options.groups;
  check_groups(op, g, C, O);
  if (weight.size(1) != C / g) {
    fail(
        "conv2d: expected a weight of shape ({}, {}, kh, kw) for {} input channels in {} "
        "group(s), got {}",
        O, C / g, C, g, shape_str(weight.shape()));
  }
  const ops::Window2d window{
      {weight.size(2), weight.size(3)}, options.stride, options.padding, options.dilation};
  ops::check_window(op, window);
  const Size2d blocks = ops::placements(op, window, {input.size(2), input.size(3)});
  // the columns one image needs, (C kh kw, L): too many elements to address is an error
  checked_product(op, checked_product(op, C, checked_product(op, weight.size(2), weight.size(3))),
                  checked_product(op, blocks[0], blocks[1]));
  if (ops::kernels_of(input).conv2d_forward != nullptr && input.numel() > 0 && O > 0) {
    return ops::as_input_was(
        x, fused_conv2d(input, weight, bias, ops::kernel_window(window, blocks), g));
  }
  // Composed: unfold, a matrix product per image, + bias; the gradients come from theirs.
  const Tensor cols = im2col(input, ops::kernel_window(window, blocks));  // (N, C kh kw, L)
  const int64_t K = cols.size(1) / g;  // (C / g) kh kw: one group's rows
  // y[n, group] = weight[group] (O/g, K) @ cols[n, group] (K, L): a product per image, the
  // images spread over the threads (measured faster here than one product over the batch)
  const Tensor y = matmul(weight.reshape({g, O / g, K}),
                          cols.reshape({N, g, K, cols.size(2)}));  // (N, g, O/g, L)
  return ops::as_input_was(x, with_bias(op, y.reshape({N, O, blocks[0], blocks[1]}), bias));
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                        const ConvTranspose2dOptions& options) {
  const profiler::Scope profiled("conv_transpose2d");
  const char* op = "conv_transpose2d";
  const Tensor input = ops::as_image_batch(op, x);  // (N, C, H, W)
  check_weight_and_bias(op, x, weight, bias);
  const int64_t N = input.size(0), C = input.size(1), H = input.size(2), W = input.size(3);
  const int64_t g = options.groups;
  if (weight.size(0) != C) {
    fail(
        "conv_transpose2d: expected a weight of shape ({}, out_channels / groups, kh, kw) for "
        "{} input channels, got {}",
        C, C, shape_str(weight.shape()));
  }
  const int64_t O = checked_product(op, weight.size(1), g);
  check_groups(op, g, C, O);
  const Size2d kernel{weight.size(2), weight.size(3)};
  const ops::Window2d window{kernel, options.stride, options.padding, options.dilation};
  ops::check_window(op, window);
  Size2d output{};
  for (int axis = 0; axis < 2; ++axis) {
    const int64_t extra = options.output_padding[axis];
    if (extra < 0 || (extra >= options.stride[axis] && extra >= options.dilation[axis])) {
      fail(
          "conv_transpose2d: output_padding along {} must be >= 0 and smaller than the stride "
          "{} or the dilation {}, got {}",
          ops::axis_name(axis), options.stride[axis], options.dilation[axis], extra);
    }
    // (H - 1) stride - 2 padding + dilation (kh - 1) + output_padding + 1, overflow-checked
    const int64_t spread = ops::checked_mul(op, input.size(2 + axis) - 1, options.stride[axis]);
    const int64_t span = ops::checked_mul(op, options.dilation[axis], kernel[axis] - 1);
    const int64_t cropped = ops::checked_mul(op, 2, options.padding[axis]);
    output[axis] = ops::checked_add(op, ops::checked_add(op, spread, span), extra + 1) - cropped;
    if (output[axis] < 1) {
      fail(
          "conv_transpose2d: the output {} would be {}: padding {} crops more than the {} "
          "input pixels give",
          ops::axis_name(axis), output[axis], options.padding[axis], input.size(2 + axis));
    }
  }
  // the columns one image spreads, (O kh kw, H W): too many elements to address is an error
  checked_product(op, checked_product(op, O, checked_product(op, kernel[0], kernel[1])), H * W);
  if (ops::kernels_of(input).conv2d_forward != nullptr && input.numel() > 0 && O > 0) {
    const Tensor y = fused_conv_transpose2d(input, weight, ops::kernel_window(window, {H, W}), g,
                                            {N, O, output[0], output[1]});
    return ops::as_input_was(x, with_bias(op, y, bias));
  }
  // Composed: one matrix product and col2im; the gradients come from theirs.
  const int64_t K = checked_product(op, O / g, checked_product(op, kernel[0], kernel[1]));
  // cols[group] = weight[group]^T (K, C/g) @ x[group] (C/g, N H W): one product for the batch
  const Tensor w = weight.reshape({g, C / g, K}).transpose(1, 2);  // (g, K, C/g)
  const Tensor side_by_side =
      input.reshape({N, g, C / g, H * W}).permute({1, 2, 0, 3}).reshape({g, C / g, N * H * W});
  const Tensor cols = matmul(w, side_by_side);  // (g, K, N H W)
  // Placement (h, w) of the window is input pixel (h, w): its taps spread it over the output.
  const Tensor y = col2im(cols.reshape({g * K, N, H * W}), ops::kernel_window(window, {H, W}),
                          {N, O, output[0], output[1]},
                          ColsLayout::batch_inner);  // (N, O, oh, ow)
  const Tensor out = with_bias(op, y, bias);
  return ops::as_input_was(x, out);
}

}  // namespace heed
