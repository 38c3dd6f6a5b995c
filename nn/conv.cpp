// Conv2d and ConvTranspose2d: parameters laid out and initialised as PyTorch's, forward through
// the engine's conv2d and conv_transpose2d.
#include "nn/conv.hpp"

#include <cmath>

#include "nn/init.hpp"

namespace heed::nn {

namespace {

void check_channels(const char* layer, int64_t in, int64_t out, Size2d kernel, int64_t groups) {
  if (in < 1 || out < 1 || kernel[0] < 1 || kernel[1] < 1) {
    fail(
        "{}: expected positive channels and kernel size, got in_channels {}, out_channels {}, "
        "kernel {}x{}",
        layer, in, out, kernel[0], kernel[1]);
  }
  if (groups < 1 || in % groups != 0 || out % groups != 0) {
    fail("{}: groups must divide in_channels {} and out_channels {}, got {}", layer, in, out,
         groups);
  }
}

// PyTorch's reset_parameters: kaiming_uniform_(a = sqrt(5)) comes to U(-1/sqrt(fan_in), ...),
// and the bias takes the same bound. fan_in is weight.size(1) kh kw.
void init_like_pytorch(Tensor& weight, Tensor& bias) {
  const double fan_in = double(weight.size(1) * weight.size(2) * weight.size(3));
  const double bound = 1.0 / std::sqrt(fan_in);
  init::uniform_(weight, bound);
  if (bias.defined()) init::uniform_(bias, bound);
}

std::string pair_text(Size2d pair) {
  return fmt::format("({}, {})", pair[0], pair[1]);
}

}  // namespace

Conv2d::Conv2d(int64_t in, int64_t out, Size2d kernel, const Conv2dOptions& conv_options,
               bool with_bias, DType dtype)
    : UnaryModule("Conv2d"),
      in_channels(in),
      out_channels(out),
      kernel_size(kernel),
      options(conv_options) {
  check_channels("Conv2d", in, out, kernel, options.groups);
  weight = register_parameter("weight",
                              empty({out, in / options.groups, kernel[0], kernel[1]}, {dtype}));
  if (with_bias) bias = register_parameter("bias", empty({out}, {dtype}));
  init_like_pytorch(weight, bias);
}

Tensor Conv2d::forward(const Tensor& x) {
  if ((x.dim() != 3 && x.dim() != 4) || x.size(-3) != in_channels) {
    fail("Conv2d: expected input of shape (N, {}, H, W) or ({}, H, W), got {}", in_channels,
         in_channels, shape_str(x.shape()));
  }
  return conv2d(x, weight, bias, options);
}

std::string Conv2d::extra_repr() const {
  return fmt::format(
      "{}, {}, kernel_size={}, stride={}, padding={}, dilation={}, groups={}, "
      "bias={}",
      in_channels, out_channels, pair_text(kernel_size), pair_text(options.stride),
      pair_text(options.padding), pair_text(options.dilation), options.groups,
      bias.defined() ? "True" : "False");
}

ConvTranspose2d::ConvTranspose2d(int64_t in, int64_t out, Size2d kernel,
                                 const ConvTranspose2dOptions& conv_options, bool with_bias,
                                 DType dtype)
    : UnaryModule("ConvTranspose2d"),
      in_channels(in),
      out_channels(out),
      kernel_size(kernel),
      options(conv_options) {
  check_channels("ConvTranspose2d", in, out, kernel, options.groups);
  weight = register_parameter("weight",
                              empty({in, out / options.groups, kernel[0], kernel[1]}, {dtype}));
  if (with_bias) bias = register_parameter("bias", empty({out}, {dtype}));
  init_like_pytorch(weight, bias);
}

Tensor ConvTranspose2d::forward(const Tensor& x) {
  if ((x.dim() != 3 && x.dim() != 4) || x.size(-3) != in_channels) {
    fail("ConvTranspose2d: expected input of shape (N, {}, H, W) or ({}, H, W), got {}",
         in_channels, in_channels, shape_str(x.shape()));
  }
  return conv_transpose2d(x, weight, bias, options);
}

std::string ConvTranspose2d::extra_repr() const {
  return fmt::format(
      "{}, {}, kernel_size={}, stride={}, padding={}, output_padding={}, "
      "dilation={}, groups={}, bias={}",
      in_channels, out_channels, pair_text(kernel_size), pair_text(options.stride),
      pair_text(options.padding), pair_text(options.output_padding), pair_text(options.dilation),
      options.groups, bias.defined() ? "True" : "False");
}

}  // namespace heed::nn
