// Printing in PyTorch's layout: tensor([[1.0000, 2.0000], [3.0000, 4.0000]], dtype=float64).
#include <fmt/format.h>

#include <string>

#include "engine/autograd.hpp"
#include "engine/tensor.hpp"

namespace heed {

namespace {

std::string format_value(double value, DType dtype) {
  if (dtype == kBool) return value != 0 ? "True" : "False";
  if (dtype == kInt64) return fmt::format("{}", static_cast<int64_t>(value));
  return fmt::format("{:.4f}", value);
}

// Writes the sub-tensor starting at `offset` (row-major, contiguous values) for dims >= dim.
void format_nested(std::string& out, const std::vector<double>& values, const Shape& shape,
                   size_t dim, size_t& offset, DType dtype, size_t indent) {
  if (dim == shape.size()) {
    out += format_value(values[offset++], dtype);
    return;
  }
  out += '[';
  for (int64_t i = 0; i < shape[dim]; ++i) {
    if (i > 0) {
      out += ',';
      if (dim + 1 == shape.size()) {
        out += ' ';
      } else {
        out += std::string(shape.size() - dim - 1, '\n') + std::string(indent + dim + 1, ' ');
      }
    }
    format_nested(out, values, shape, dim + 1, offset, dtype, indent);
  }
  out += ']';
}

}  // namespace

std::string to_string(const Tensor& x) {
  if (!x.defined()) return "tensor(undefined)";
  const std::vector<double> values = x.detach().to_vector<double>();
  std::string out = "tensor(";
  size_t offset = 0;
  format_nested(out, values, x.shape(), 0, offset, x.dtype(), 7);
  if (x.numel() == 0) out += fmt::format(", size={}", shape_str(x.shape()));
  if (x.dtype() != kFloat32 && x.dtype() != kInt64)
    out += fmt::format(", dtype={}", dtype_name(x.dtype()));
  if (!x.device().is_cpu()) out += fmt::format(", device='{}'", x.device().str());
  if (x.grad_fn()) {
    out += fmt::format(", grad_fn=<{}>", x.grad_fn()->name);
  } else if (x.requires_grad()) {
    out += ", requires_grad=True";
  }
  return out + ")";
}

}  // namespace heed
