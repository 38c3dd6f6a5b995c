// MaxPool2d, AvgPool2d and Flatten: options kept for the forward and for printing.
#include "nn/pool.hpp"

namespace heed::nn {

MaxPool2d::MaxPool2d(Size2d kernel, const MaxPool2dOptions& pool_options)
    : UnaryModule("MaxPool2d"), kernel_size(kernel), options(pool_options) {}

Tensor MaxPool2d::forward(const Tensor& x) {
  return max_pool2d(x, kernel_size, options);
}

std::string MaxPool2d::extra_repr() const {
  const Size2d stride = options.stride == Size2d{0, 0} ? kernel_size : options.stride;
  return fmt::format("kernel_size=({}, {}), stride=({}, {}), padding=({}, {}), dilation=({}, {})",
                     kernel_size[0], kernel_size[1], stride[0], stride[1], options.padding[0],
                     options.padding[1], options.dilation[0], options.dilation[1]);
}

AvgPool2d::AvgPool2d(Size2d kernel, const AvgPool2dOptions& pool_options)
    : UnaryModule("AvgPool2d"), kernel_size(kernel), options(pool_options) {}

Tensor AvgPool2d::forward(const Tensor& x) {
  return avg_pool2d(x, kernel_size, options);
}

std::string AvgPool2d::extra_repr() const {
  const Size2d stride = options.stride == Size2d{0, 0} ? kernel_size : options.stride;
  return fmt::format(
      "kernel_size=({}, {}), stride=({}, {}), padding=({}, {}), "
      "count_include_pad={}",
      kernel_size[0], kernel_size[1], stride[0], stride[1], options.padding[0], options.padding[1],
      options.count_include_pad ? "True" : "False");
}

Flatten::Flatten(int64_t start, int64_t end)
    : UnaryModule("Flatten"), start_dim(start), end_dim(end) {}

Tensor Flatten::forward(const Tensor& x) {
  return x.flatten(start_dim, end_dim);
}

std::string Flatten::extra_repr() const {
  return fmt::format("start_dim={}, end_dim={}", start_dim, end_dim);
}

}  // namespace heed::nn
