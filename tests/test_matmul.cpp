// Matrix products: values, broadcasting, 1-D rules, transposed operands, fast vs reference
// kernels on odd shapes, gradients, errors.
#include <functional>

#include "tests/helpers.hpp"

using namespace heed;
using namespace heed::testing;

TEST_CASE("matmul values and PyTorch's 1-D rules") {
  const Tensor a = tensor({{1, 2}, {3, 4}}, {kFloat64});
  const Tensor b = tensor({{5, 6}, {7, 8}}, {kFloat64});
  check_values(matmul(a, b), {19, 22, 43, 50});
  check_values(matmul(a, b.t()), {17, 23, 39, 53});
  check_values(mm(a.t(), b), {26, 30, 38, 44});
  const Tensor v = tensor({1, 1}, {kFloat64});
  CHECK(matmul(a, v).shape() == Shape{2});
  check_values(matmul(a, v), {3, 7});
  check_values(matmul(v, a), {4, 6});
  CHECK(matmul(v, v).dim() == 0);
  CHECK(matmul(v, v).item() == 2);
  check_values(matmul(zeros({2, 0}, {kFloat64}), zeros({0, 3}, {kFloat64})), {0, 0, 0, 0, 0, 0});
}

TEST_CASE("matmul broadcasts batch dims") {
  const Tensor a = random64({2, 1, 3, 4}, 61), b = random64({5, 4, 2}, 62);
  const Tensor c = matmul(a, b);
  CHECK(c.shape() == Shape{2, 5, 3, 2});
  // Every batch entry equals the 2-D product of its operands.
  check_close(c.select(0, 1).select(0, 3), matmul(a.select(0, 1).select(0, 0), b.select(0, 3)),
              1e-12, 1e-12);
  check_close(matmul(random64({3, 4}, 63), b).select(0, 2),
              matmul(random64({3, 4}, 63), b.select(0, 2)), 1e-12, 1e-12);
}

TEST_CASE("fast gemm matches the naive reference on odd shapes, strides and both dtypes") {
  for (DType dtype : {kFloat32, kFloat64}) {
    for (int64_t m : {1, 3, 17, 65}) {
      for (int64_t k : {1, 5, 33}) {
        for (int64_t n : {1, 7, 64}) {
          const Tensor a = random64({3, m, k}, static_cast<uint64_t>(m * 100 + k)).to(dtype);
          const Tensor b = random64({3, n, k}, static_cast<uint64_t>(n * 7 + k)).to(dtype);
          const Tensor bt = b.transpose(1, 2);  // (3, k, n) as a strided view
          const Tensor fast = bmm(a, bt);
          Tensor reference;
          {
            ReferenceKernelsGuard naive;
            reference = bmm(a, bt.contiguous());
          }
          const double tolerance = dtype == kFloat32 ? 1e-4 : 1e-12;
          check_close(fast, reference, tolerance, tolerance);
        }
      }
    }
  }
  // a column slice: neither row nor column stride is 1 after slicing with a step
  const Tensor wide = random64({6, 8}, 64);
  const Tensor strided = wide.slice(1, 0, std::nullopt, 2);
  check_close(matmul(strided, random64({4, 3}, 65)),
              matmul(strided.contiguous(), random64({4, 3}, 65)), 1e-12, 1e-12);
  // one row times a large matrix (a decoding step), plain and transposed: the gemv path, threaded
  for (const bool transposed : {false, true}) {
    const Tensor row = random64({1, 768}, 68).to(kFloat32);
    const Tensor weight =
        random64({transposed ? 2304 : 768, transposed ? 768 : 2304}, 69).to(kFloat32);
    const Tensor b = transposed ? weight.t() : weight;  // (768, 2304) either way
    Tensor reference;
    {
      ReferenceKernelsGuard naive;
      reference = matmul(row, b.contiguous());
    }
    check_close(matmul(row, b), reference, 1e-4, 1e-4);
  }
  // a few rows times a large matrix (a batch of decoding steps), plain and transposed, from a
  // strided view of rows, both dtypes: the few-rows path (weight rows or gemv over tiles)
  for (const DType dtype : {kFloat32, kFloat64}) {
    for (const bool transposed : {false, true}) {
      for (const int64_t rows : {1, 2, 7, 8, 16}) {  // groups of 8, 4, 2 and 1
        // k = 795 = 24 * 32 + 3 * 8 + 3: after the chains' steps of 32 (one row) or 16 (two
        // rows) come leftover groups of eight, then a tail; contiguous rows and a strided view
        const Tensor wide = random64({rows, 2 * 795}, 70).to(dtype);
        const Tensor x = rows == 8 ? wide.narrow(1, 0, 795).contiguous()
                                   : wide.slice(1, 0, std::nullopt, 2);  // (rows, 795)
        const Tensor weight =
            random64({transposed ? 1500 : 795, transposed ? 795 : 1500}, 71).to(dtype);
        const Tensor b = transposed ? weight.t() : weight;  // (795, 1500) either way
        Tensor reference;
        {
          ReferenceKernelsGuard naive;
          reference = matmul(x.contiguous(), b.contiguous());
        }
        const double tolerance = dtype == kFloat32 ? 1e-4 : 1e-12;
        check_close(matmul(x, b), reference, tolerance, tolerance);
      }
    }
  }
  // one large product takes the threaded OpenBLAS path
  const Tensor big_a = random64({256, 128}, 66).to(kFloat32),
               big_b = random64({128, 256}, 67).to(kFloat32);
  Tensor big_reference;
  {
    ReferenceKernelsGuard naive;
    big_reference = matmul(big_a, big_b);
  }
  check_close(matmul(big_a, big_b), big_reference, 1e-3, 1e-4);
}

TEST_CASE("matmul gradients") {
  check_gradients([](const auto& in) { return matmul(in[0], in[1]); },
                  {random64({3, 4}, 71), random64({4, 2}, 72)});
  check_gradients([](const auto& in) { return bmm(in[0], in[1].transpose(1, 2)); },
                  {random64({2, 3, 4}, 73), random64({2, 5, 4}, 74)});
  check_gradients([](const auto& in) { return matmul(in[0], in[1]); },
                  {random64({2, 1, 3, 4}, 75), random64({3, 4, 2}, 76)});
  check_gradients([](const auto& in) { return matmul(in[0], in[1]); },
                  {random64({4}, 77), random64({2, 4, 3}, 78)});
  check_gradients([](const auto& in) { return matmul(in[0], in[1]); },
                  {random64({4}, 79), random64({4}, 80)});
  check_gradients([](const auto& in) { return matmul(in[0], in[1]); },
                  {random64({3, 4}, 81).to(kFloat32), random64({4, 2}, 82).to(kFloat32)},
                  kFloat32Tolerance);
  // transposed views on either side, one of them shared by a broadcast batch
  check_gradients([](const auto& in) { return mm(in[0].t(), in[1].t()); },
                  {random64({4, 3}, 83), random64({2, 4}, 84)});
  check_gradients([](const auto& in) { return matmul(in[0], in[1].t()); },
                  {random64({2, 3, 4}, 85), random64({5, 4}, 86)});
  // a broadcast column (stride 0) is not a transposed view
  check_gradients(
      [](const auto& in) {
        return mm(in[0], in[1].expand({4, 3}));
      },
      {random64({2, 4}, 93), random64({4, 1}, 94)});
}

TEST_CASE("addmm: the bias plus the product, in one gemm, for every bias shape and both dtypes") {
  const Tensor a = random64({5, 3}, 95), w = random64({4, 3}, 96);
  for (const Shape& bias_shape : {Shape{4}, Shape{1, 4}, Shape{5, 1}, Shape{5, 4}, Shape{}}) {
    INFO("bias " << shape_str(bias_shape));
    const Tensor bias = random64(bias_shape, 97);
    check_close(addmm(bias, a, w.t()), mm(a, w.t()) + bias, 1e-12, 1e-12);
    check_close(addmm(bias.to(kFloat32), a.to(kFloat32), w.t().to(kFloat32)), mm(a, w.t()) + bias,
                1e-5, 1e-5);
    {  // the naive reference gemm adds to the output the same way (beta = 1)
      ReferenceKernelsGuard naive;
      check_close(addmm(bias, a, w.t()), mm(a, w.t()) + bias, 1e-12, 1e-12);
    }
    // as Linear calls it (b a transposed weight) and with plain operands
    check_gradients([](const auto& in) { return addmm(in[0], in[1], in[2].t()); }, {bias, a, w});
    check_gradients([](const auto& in) { return addmm(in[0], in[1], in[2]); },
                    {bias, random64({5, 3}, 98), random64({4, 4}, 99).narrow(0, 0, 3)});
  }
  check_gradients([](const auto& in) { return addmm(in[0], in[1], in[2].t()); },
                  {random64({4}, 100).to(kFloat32), a.to(kFloat32), w.to(kFloat32)},
                  kFloat32Tolerance);
  // The bias is never written: a (M, N) bias is copied into the output, not aliased.
  const Tensor full = random64({5, 4}, 101), before = full.clone();
  addmm(full, a, w.t());
  check_close(full, before, 0, 0);
  // No columns to sum over (K = 0): the bias alone.
  check_close(addmm(random64({4}, 102), zeros({5, 0}, {kFloat64}), zeros({0, 4}, {kFloat64})),
              random64({4}, 102).expand({5, 4}), 0, 0);
  // A bias's gradient is dc summed over the rows it was repeated on.
  const Tensor trained_bias = random64({4}, 103).requires_grad_();
  Tensor x = random64({5, 3}, 104).requires_grad_();
  addmm(trained_bias, x, w.t()).sum().backward();
  check_close(trained_bias.grad(), heed::full({4}, 5.0, {kFloat64}), 1e-12, 1e-12);
  check_close(x.grad(), ones({5, 4}, {kFloat64}).matmul(w), 1e-12, 1e-12);
}

TEST_CASE(
    "addmm adds to the bias on every gemm path: one row, a few rows, a plain or a "
    "transposed large operand") {
  // k * n >= 2^19 with up to 16 rows takes engine/cpu/matmul.cpp's streaming paths (gemv, and
  // the few-rows product by weight rows or by gemv), each with beta = 1 here.
  const int64_t k = 512, n = 1024;
  for (const DType dtype : {kFloat32, kFloat64}) {
    const Tensor bias = random64({n}, 105).to(dtype);
    const Tensor weight = random64({n, k}, 106).to(dtype);  // used as weight^T, as Linear does
    const Tensor plain = random64({k, n}, 107).to(dtype);
    for (const int64_t rows : {1, 3, 16}) {
      INFO("rows " << rows << ", " << dtype_name(dtype));
      const Tensor a = random64({rows, k}, 108).to(dtype);
      const double tolerance = dtype == kFloat32 ? 1e-4 : 1e-10;
      check_close(addmm(bias, a, weight.t()), mm(a, weight.t()) + bias, tolerance, tolerance);
      check_close(addmm(bias, a, plain), mm(a, plain) + bias, tolerance, tolerance);
    }
  }
}

TEST_CASE("addmm errors name the shapes") {
  const Tensor bias = zeros({4});
  check_error([&] { addmm(bias, zeros({2, 3}), zeros({4, 4})); }, {"addmm", "(2, 3)", "(4, 4)"});
  check_error([&] { addmm(bias, zeros({2, 2, 3}), zeros({3, 4})); }, {"addmm", "2-D"});
  check_error([] { addmm(zeros({5}), zeros({2, 3}), zeros({3, 4})); }, {"addmm", "(5,)"});
  check_error([] { addmm(zeros({3, 4}), zeros({2, 3}), zeros({3, 4})); }, {"addmm", "(3, 4)"});
  check_error(
      [] {
        addmm(zeros({1, 2, 4}), zeros({2, 3}), zeros({3, 4}));
      },
      {"addmm", "(2, 4)", "(1, 2, 4)"});
  check_error(
      [] {
        addmm(zeros({4}, {kFloat64}), zeros({2, 3}), zeros({3, 4}));
      },
      {"addmm", "float64"});
}

// Calls of the copy kernel while `run` goes backward, counted by the profiler.
int64_t backward_copies(const std::function<void()>& run) {
  const ProfilerOn on;
  run();
  const auto copies =
      find_row(profiler::rows(), "copy", profiler::Kind::kernel, profiler::Phase::backward);
  return copies ? copies->calls : 0;
}

TEST_CASE("a transposed operand's gradient comes back in its leaf's layout") {
  // y = x W^T, as a Linear computes it: W's gradient is dy^T x, computed as (x^T dy)^T so that
  // the transpose's backward hands W a contiguous gradient: no transposing copy into W.grad.
  Tensor x = random64({5, 3}, 87).requires_grad_();
  Tensor w = random64({4, 3}, 88).requires_grad_();
  const Tensor dy = random64({5, 4}, 89);
  CHECK(backward_copies([&] { mm(x, w.t()).backward(dy); }) == 0);
  check_close(w.grad(), mm(dy.t(), x), 1e-12, 1e-12);
  check_close(x.grad(), mm(dy, w), 1e-12, 1e-12);
  // and on the left: z = A^T B
  Tensor a = random64({3, 5}, 90).requires_grad_();
  const Tensor b = random64({3, 2}, 91), dz = random64({5, 2}, 92);
  CHECK(backward_copies([&] { mm(a.t(), b).backward(dz); }) == 0);
  check_close(a.grad(), mm(b, dz.t()), 1e-12, 1e-12);
}

TEST_CASE("matmul errors name the shapes") {
  check_error([] { matmul(zeros({2, 3}), zeros({4, 5})); }, {"matmul", "(2, 3)", "(4, 5)"});
  check_error([] { bmm(zeros({2, 3, 4}), zeros({3, 4, 5})); }, {"bmm", "(2, 3, 4)", "(3, 4, 5)"});
  check_error([] { bmm(zeros({3, 4}), zeros({4, 5})); }, {"bmm", "3-D"});
  check_error([] { mm(zeros({2, 3, 4}), zeros({4, 5})); }, {"mm", "2-D"});
  check_error([] { matmul(zeros({2, 2, 3}), zeros({3, 3, 4})); }, {"matmul", "broadcast"});
  check_error([] { matmul(zeros({2, 3}), zeros({3, 4}, {kFloat64})); }, {"matmul", "float64"});
  check_error([] { matmul(int_tensor({1, 2}), int_tensor({1, 2})); }, {"matmul", "int64"});
  check_error([] { matmul(zeros({3}), zeros({4})); }, {"matmul", "3", "4"});
}
