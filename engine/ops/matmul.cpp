// Matrix products. The forward hands the backend one batched gemm; operands that are
// transposed views are passed with their strides (the backend turns them into BLAS transpose
// flags), and an operand shared by the whole batch gets batch stride 0, so neither is copied.
#include "engine/ops/matmul.hpp"

#include "engine/kernel_rules.hpp"
#include "engine/ops/common.hpp"
#include "engine/ops/reduce.hpp"  // sum_to

namespace heed {

namespace {

// A tensor seen as `batch` matrices of (rows, cols), in the form the gemm kernel takes.
struct BatchedOperand {
  Tensor storage_owner;  // keeps the data alive (it may be a fresh contiguous copy)
  heed_matrix matrix;
};

// `t` broadcast to batch_shape + (rows, cols), flattened to one batch dim without copying when
// its strides allow (a single matrix shared by every batch entry, or uniformly strided batches).
BatchedOperand batched(const Tensor& t, const Shape& batch_shape) {
  const int64_t rows = t.size(-2), cols = t.size(-1);
  Shape full = batch_shape;
  full.push_back(rows);
  full.push_back(cols);
  Tensor view = t.detach().expand(full);
  // Size-1 dims have arbitrary strides; give them the ones a contiguous layout would.
  int64_t row_stride = rows == 1 ? cols : view.stride(-2);
  int64_t col_stride = cols == 1 ? 1 : view.stride(-1);
  if (!rules::blas_readable(rows, cols, row_stride, col_stride)) {
    view = view.contiguous();
    row_stride = cols;
    col_stride = 1;
  }
  // Flattening the batch dims needs one stride that steps through all of them: batch entry i
  // at i * batch_stride. True when the dims nest like a contiguous layout (or are all 0-strided).
  int64_t batch_stride = 0;
  int64_t later_entries = 1;  // batch entries spanned by the dims after d
  bool first = true, uniform = true;
  for (int64_t d = static_cast<int64_t>(batch_shape.size()) - 1; d >= 0; --d) {
    const int64_t size = batch_shape[static_cast<size_t>(d)];
    if (size == 1) continue;
    if (first) {
      batch_stride = view.stride(d);
      first = false;
    } else if (view.stride(d) != batch_stride * later_entries) {
      uniform = false;
    }
    later_entries *= size;
  }
  if (!uniform) {
    view = view.contiguous();
    row_stride = cols;
    col_stride = 1;
    batch_stride = rows * cols;
  }
  return {view, heed_matrix{view.raw_data(), batch_stride, row_stride, col_stride}};
}

// out = a (..., M, K) @ b (..., K, N) + beta * out, with a's and b's batch dims broadcast to
// batch_shape and out contiguous of batch_shape + (M, N); no autograd.
void product_into(const Shape& batch_shape, const Tensor& a, const Tensor& b, double beta,
                  Tensor& out) {
  const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
  if (k == 0) {  // a sum of nothing: 0, plus what out holds when beta is 1
    if (beta == 0.0) out.fill_(0);
    return;
  }
  const BatchedOperand pa = batched(a, batch_shape), pb = batched(b, batch_shape);
  const heed_matrix pc{out.raw_data(), m * n, n, 1};
  const auto dtype = static_cast<int32_t>(a.dtype());
  ops::call_kernel(a, &heed_backend::gemm, "gemm", dtype, numel_of(batch_shape), m, n, k, 1.0,
                   pa.matrix, pb.matrix, beta, pc);
}

// a (..., M, K) @ b (..., K, N) with batch dims broadcast; no autograd.
Tensor product(const char* op, const Tensor& a, const Tensor& b) {
  const Shape batch_a(a.shape().begin(), a.shape().end() - 2);
  const Shape batch_b(b.shape().begin(), b.shape().end() - 2);
  const Shape batch_shape = broadcast_shapes(batch_a, batch_b, op);
  Shape out_shape = batch_shape;
  out_shape.push_back(a.size(-2));
  out_shape.push_back(b.size(-1));
  Tensor out = empty(out_shape, {a.dtype(), a.device()});
  product_into(batch_shape, a, b, 0.0, out);
  return out;
}

void check_operands(const char* op, const Tensor& a, const Tensor& b) {
  ops::check_same_dtype_and_device(op, a, b);
  ops::check_floating(op, a);
  if (a.dim() == 0 || b.dim() == 0) {
    fail("{}: both arguments need at least 1 dim, got shapes {} and {}", op, shape_str(a.shape()),
         shape_str(b.shape()));
  }
}

// A transposed view: its columns, not its rows, lie contiguous in memory, one after the other
// (weight.t() in a Linear or a GRU step). Not a broadcast column, whose stride is 0.
bool is_transposed_view(const Tensor& t) {
  return t.size(-2) > 1 && t.size(-1) > 1 && t.stride(-2) == 1 && t.stride(-1) >= t.size(-2);
}

// Whether `operand`'s gradient is the product's own shape, with no broadcast batch dims summed
// away (sum_to's fast path needs its input contiguous, so a summed gradient stays row-major).
bool gradient_needs_no_sum(const Tensor& operand, const Tensor& c) {
  if (operand.dim() != c.dim()) return false;
  for (int64_t d = 0; d + 2 < c.dim(); ++d) {
    if (operand.size(d) != c.size(d)) return false;
  }
  return true;
}

// The gradient of an operand, laid out like the operand: for a transposed view it is computed
// as the transpose of the transposed product, (rhs^T lhs^T)^T, the same sums in the other memory
// order. The view's own backward then hands its leaf a contiguous gradient, and summing it into
// .grad reads memory in order instead of transposing a whole weight's gradient every step.
// (Only where no batch dims are summed: see gradient_needs_no_sum.)
Tensor operand_gradient(const char* op, const Tensor& lhs, const Tensor& rhs, bool transposed) {
  return transposed ? product(op, rhs.mT(), lhs.mT()).mT() : product(op, lhs, rhs);
}

void check_inner_sizes(const char* op, const Tensor& a, const Tensor& b) {
  if (a.size(-1) != b.size(-2)) {
    fail("{}: shapes {} and {} cannot be multiplied ({} columns vs {} rows)", op,
         shape_str(a.shape()), shape_str(b.shape()), a.size(-1), b.size(-2));
  }
}

// What the backward of c = a @ b (+ bias) keeps of its operands, and computes from them. Each
// gradient reads the other operand, so one is saved only when the other needs grad (a product
// with fixed data saves nothing of the data).
struct ProductGradients {
  const char* op;
  Tensor saved_a, saved_b;
  Shape a_shape, b_shape;
  bool a_transposed, b_transposed;

  ProductGradients(const char* op_name, const Tensor& a, const Tensor& b, const Tensor& c)
      : op(op_name),
        saved_a(b.requires_grad() ? a.detach() : Tensor()),
        saved_b(a.requires_grad() ? b.detach() : Tensor()),
        a_shape(a.shape()),
        b_shape(b.shape()),
        a_transposed(is_transposed_view(a) && gradient_needs_no_sum(a, c)),
        b_transposed(is_transposed_view(b) && gradient_needs_no_sum(b, c)) {}

  Tensor da(const Tensor& dc) const {  // dc @ b^T, summed over broadcast batch dims
    return saved_b.defined() ? sum_to(operand_gradient(op, dc, saved_b.mT(), a_transposed), a_shape)
                             : Tensor();
  }
  Tensor db(const Tensor& dc) const {  // a^T @ dc, summed over broadcast batch dims
    return saved_a.defined() ? sum_to(operand_gradient(op, saved_a.mT(), dc, b_transposed), b_shape)
                             : Tensor();
  }
};

// Both operands at least 2-D here. `op` (matmul, bmm or mm) names the node and the errors.
Tensor matmul_nd(const char* op, const Tensor& a, const Tensor& b) {
  check_inner_sizes(op, a, b);
  Tensor c = product(op, a, b);
  return record(c, op, {a, b}, [gradients = ProductGradients(op, a, b, c)](const Tensor& dc) {
    // c = a @ b: da = dc @ b^T, db = a^T @ dc (summed over broadcast batch dims)
    return std::vector<Tensor>{gradients.da(dc), gradients.db(dc)};
  });
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  const profiler::Scope profiled("matmul");
  check_operands("matmul", a, b);
  // PyTorch's 1-D rules: a vector on the left is a row, on the right a column; the added dim
  // is removed from the result.
  if (a.dim() == 1 && b.dim() == 1) {
    if (a.size(0) != b.size(0)) {
      fail("matmul: vectors of sizes {} and {} have no dot product", a.size(0), b.size(0));
    }
    return matmul_nd("matmul", a.unsqueeze(0), b.unsqueeze(1)).reshape({});
  }
  if (a.dim() == 1) return matmul_nd("matmul", a.unsqueeze(0), b).squeeze(-2);
  if (b.dim() == 1) return matmul_nd("matmul", a, b.unsqueeze(1)).squeeze(-1);
  return matmul_nd("matmul", a, b);
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  const profiler::Scope profiled("bmm");
  check_operands("bmm", a, b);
  if (a.dim() != 3 || b.dim() != 3) {
    fail("bmm: expected two 3-D tensors, got shapes {} and {}", shape_str(a.shape()),
         shape_str(b.shape()));
  }
  if (a.size(0) != b.size(0) || a.size(2) != b.size(1)) {
    fail("bmm: shapes {} and {} do not match: expected (B, M, K) and (B, K, N)",
         shape_str(a.shape()), shape_str(b.shape()));
  }
  return matmul_nd("bmm", a, b);
}

Tensor mm(const Tensor& a, const Tensor& b) {
  const profiler::Scope profiled("mm");
  check_operands("mm", a, b);
  if (a.dim() != 2 || b.dim() != 2) {
    fail("mm: expected two 2-D tensors, got shapes {} and {}", shape_str(a.shape()),
         shape_str(b.shape()));
  }
  return matmul_nd("mm", a, b);
}

Tensor addmm(const Tensor& bias, const Tensor& a, const Tensor& b) {
  const profiler::Scope profiled("addmm");
  check_operands("addmm", a, b);
  ops::check_same_dtype_and_device("addmm", bias, a);
  if (a.dim() != 2 || b.dim() != 2) {
    fail("addmm: expected two 2-D tensors to multiply, got shapes {} and {}", shape_str(a.shape()),
         shape_str(b.shape()));
  }
  check_inner_sizes("addmm", a, b);
  const Shape out_shape{a.size(0), b.size(1)};
  if (bias.dim() > 2 || broadcast_shapes(bias.shape(), out_shape, "addmm") != out_shape) {
    fail("addmm: expected a bias that broadcasts to the product's shape {}, got {}",
         shape_str(out_shape), shape_str(bias.shape()));
  }
  // The output starts as the bias on every row; the gemm adds the product to it (beta = 1).
  Tensor c = empty(out_shape, {a.dtype(), a.device()});  // (M, N)
  c.copy_(bias.detach());
  product_into({}, a, b, 1.0, c);
  return record(c, "addmm", {bias, a, b},
                [gradients = ProductGradients("addmm", a, b, c), bias_shape = bias.shape(),
                 bias_needs_grad = bias.requires_grad()](const Tensor& dc) {
                  // c = bias + a @ b: dbias = dc summed to bias, da = dc @ b^T, db = a^T @ dc
                  return std::vector<Tensor>{bias_needs_grad ? sum_to(dc, bias_shape) : Tensor(),
                                             gradients.da(dc), gradients.db(dc)};
                });
}

Tensor Tensor::matmul(const Tensor& other) const {
  return heed::matmul(*this, other);
}

}  // namespace heed
