// conv2d, conv_transpose2d, unfold and fold: against a direct convolution written out here,
// against each other (fold is unfold's adjoint, the transposed convolution conv2d's), the fast
// kernels against the reference ones, gradcheck, and the errors.
#include <array>

#include "engine/cpu/kernels.hpp"
#include "engine/ops/kernel_call.hpp"
#include "tests/helpers.hpp"

using namespace heed;
using namespace heed::testing;

namespace {

// The convolution as its definition, in double:
//   y[n, o, by, bx] = b[o] + sum over c in o's group, i, j of
//                     w[o, c, i, j] x[n, g c0 + c, by s - p + i d, bx s - p + j d]
Tensor direct_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dOptions& o) {
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t O = w.size(0), Cg = w.size(1), kh = w.size(2), kw = w.size(3);
  const int64_t bh = (H + 2 * o.padding[0] - o.dilation[0] * (kh - 1) - 1) / o.stride[0] + 1;
  const int64_t bw = (W + 2 * o.padding[1] - o.dilation[1] * (kw - 1) - 1) / o.stride[1] + 1;
  const std::vector<double> xv = x.to_vector<double>(), wv = w.to_vector<double>();
  const std::vector<double> bv = b.defined() ? b.to_vector<double>() : std::vector<double>(O, 0.0);
  std::vector<double> y(static_cast<size_t>(N * O * bh * bw));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oc = 0; oc < O; ++oc)
      for (int64_t by = 0; by < bh; ++by)
        for (int64_t bx = 0; bx < bw; ++bx) {
          double sum = bv[oc];
          const int64_t first_channel = (oc / (O / o.groups)) * Cg;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t i = 0; i < kh; ++i)
              for (int64_t j = 0; j < kw; ++j) {
                const int64_t yy = by * o.stride[0] - o.padding[0] + i * o.dilation[0];
                const int64_t xx = bx * o.stride[1] - o.padding[1] + j * o.dilation[1];
                if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
                sum += wv[((oc * Cg + c) * kh + i) * kw + j] *
                       xv[((n * C + first_channel + c) * H + yy) * W + xx];
              }
          y[((n * O + oc) * bh + by) * bw + bx] = sum;
        }
  return tensor(y, {N, O, bh, bw}, {kFloat64});
}

struct ConvCase {
  Shape x, w;
  Conv2dOptions options;
};

const std::vector<ConvCase> kCases = {
    {{2, 3, 7, 6}, {4, 3, 3, 3}, {}},
    {{2, 3, 7, 6}, {4, 3, 3, 2}, {.stride = {2, 1}, .padding = {1, 2}}},
    {{1, 2, 9, 8}, {3, 2, 3, 3}, {.stride = {2, 3}, .padding = {2, 1}, .dilation = {2, 3}}},
    {{2, 4, 5, 5}, {6, 2, 3, 3}, {.padding = {1, 1}, .groups = 2}},
    {{1, 4, 6, 6}, {4, 1, 3, 3}, {.stride = {2, 2}, .padding = {1, 1}, .groups = 4}},  // depthwise
    {{3, 1, 4, 4}, {2, 1, 1, 1}, {}},                                                  // 1x1
    {{1, 2, 3, 3}, {1, 2, 3, 3}, {}},  // one output pixel
    {{2, 4, 6, 5}, {2, 2, 3, 2}, {.padding = {2, 0}, .dilation = {2, 1}, .groups = 2}},
};

}  // namespace

TEST_CASE("conv2d matches the direct convolution, in both dtypes and on the reference kernels") {
  uint64_t seed = 300;
  for (const ConvCase& c : kCases) {
    INFO("x " << shape_str(c.x) << ", weight " << shape_str(c.w) << ", groups "
              << c.options.groups);
    const Tensor x = random64(c.x, ++seed), w = random64(c.w, ++seed),
                 b = random64({c.w[0]}, ++seed);
    const Tensor expected = direct_conv2d(x, w, b, c.options);
    check_close(conv2d(x, w, b, c.options), expected, 1e-12, 1e-10);
    check_close(conv2d(x.to(kFloat32), w.to(kFloat32), b.to(kFloat32), c.options).to(kFloat64),
                expected, 1e-5, 1e-4);
    check_close(conv2d(x, w, {}, c.options), direct_conv2d(x, w, {}, c.options), 1e-12, 1e-10);
    ReferenceKernelsGuard naive;
    check_close(conv2d(x, w, b, c.options), expected, 1e-12, 1e-10);
  }
  // an unbatched (C, H, W) input gives an unbatched output
  const Tensor x = random64({3, 5, 5}, 390), w = random64({2, 3, 3, 3}, 391);
  const Tensor y = conv2d(x, w);
  CHECK(y.shape() == Shape{2, 3, 3});
  check_close(y, conv2d(x.unsqueeze(0), w).squeeze(0), 0, 0);
}

TEST_CASE("conv2d, conv_transpose2d, unfold and fold pass gradcheck") {
  uint64_t seed = 400;
  for (const ConvCase& c : kCases) {
    INFO("x " << shape_str(c.x) << ", weight " << shape_str(c.w));
    const Conv2dOptions options = c.options;
    check_gradients([options](const auto& in) { return conv2d(in[0], in[1], in[2], options); },
                    {random64(c.x, ++seed), random64(c.w, ++seed), random64({c.w[0]}, ++seed)});
  }
  check_gradients(
      [](const auto& in) {
        return conv2d(in[0], in[1], in[2], {.stride = {2, 1}, .padding = {1, 1}});
      },
      {random64({2, 2, 5, 4}, 450).to(kFloat32), random64({3, 2, 3, 3}, 451).to(kFloat32),
       random64({3}, 452).to(kFloat32)},
      kFloat32Tolerance);
  const ConvTranspose2dOptions transposed{
      .stride = {2, 3}, .padding = {1, 0}, .output_padding = {1, 2}, .dilation = {1, 2}};
  check_gradients(
      [transposed](const auto& in) { return conv_transpose2d(in[0], in[1], in[2], transposed); },
      {random64({2, 2, 3, 4}, 453), random64({2, 3, 3, 2}, 454), random64({3}, 455)});
  check_gradients([](const auto& in) { return conv_transpose2d(in[0], in[1], {}, {.groups = 2}); },
                  {random64({1, 4, 3, 3}, 456), random64({4, 1, 2, 2}, 457)});
  const UnfoldOptions window{.dilation = {1, 2}, .padding = {1, 1}, .stride = {2, 1}};
  check_gradients(
      [window](const auto& in) {
        return unfold(in[0], {2, 3}, window);
      },
      {random64({2, 2, 5, 6}, 458)});
  // fold of (N, C kh kw, L) for a 5x6 output with the same window: L = 3 x 4
  check_gradients(
      [window](const auto& in) {
        return fold(in[0], {5, 6}, {2, 3}, window);
      },
      {random64({2, 12, 12}, 459)});
}

TEST_CASE("fold is unfold's adjoint, and conv_transpose2d is conv2d's") {
  // <unfold(x), c> = <x, fold(c)> for every x and c: col2im adds exactly what im2col read.
  const UnfoldOptions window{.dilation = {2, 1}, .padding = {1, 2}, .stride = {1, 2}};
  const Tensor x = random64({2, 3, 6, 7}, 500);
  const Tensor cols = unfold(x, {3, 2}, window);
  const Tensor c = random64(cols.shape(), 501);
  CHECK((cols * c).sum().item<double>() ==
        doctest::Approx((x * fold(c, {6, 7}, {3, 2}, window)).sum().item<double>()).epsilon(1e-12));
  // <conv2d(x, w), y> = <x, conv_transpose2d(y, w)>, with the output_padding that restores H, W
  const Conv2dOptions forward{.stride = {2, 2}, .padding = {1, 0}, .dilation = {1, 2}, .groups = 1};
  const Tensor image = random64({2, 3, 8, 9}, 502), w = random64({4, 3, 3, 3}, 503);
  const Tensor out = conv2d(image, w, {}, forward);  // (2, 4, 4, 3)
  const Tensor dy = random64(out.shape(), 504);
  const Tensor back = conv_transpose2d(
      dy, w, {},
      {.stride = {2, 2}, .padding = {1, 0}, .output_padding = {1, 0}, .dilation = {1, 2}});
  REQUIRE(back.shape() == image.shape());
  CHECK((out * dy).sum().item<double>() ==
        doctest::Approx((image * back).sum().item<double>()).epsilon(1e-12));
}

TEST_CASE("im2col and col2im: the fast kernels match the reference ones") {
  // odd sizes, strides and dilations so every branch of the fast kernels' runs is taken
  const std::vector<UnfoldOptions> windows = {
      {},
      {.padding = {2, 3}},
      {.dilation = {2, 3}, .padding = {1, 2}, .stride = {3, 2}},
      // stride 1 and as wide as the image: each tap's row is the image shifted (im2col's block
      // copy)
      {.dilation = {1, 2}, .padding = {1, 3}},
      {.dilation = {2, 2}, .padding = {1, 3}}};
  uint64_t seed = 600;
  for (const UnfoldOptions& window : windows) {
    for (DType dtype : {kFloat32, kFloat64}) {
      const Tensor x = random64({3, 5, 11, 13}, ++seed).to(dtype).requires_grad_();
      const auto run = [&] {
        x.zero_grad();
        const Tensor cols = unfold(x, {3, 4}, window);
        const Tensor c = random64(cols.shape(), 42).to(dtype);
        (cols * c).sum().backward();  // the backward is col2im
        return std::vector<Tensor>{cols.detach(), x.grad()};
      };
      const std::vector<Tensor> fast = run();
      ReferenceKernelsGuard naive;
      const std::vector<Tensor> reference = run();
      check_close(fast[0], reference[0], 0, 0);  // copies: exact
      check_close(fast[1], reference[1], 1e-6, 1e-6);
    }
  }
}

TEST_CASE("conv2d and conv_transpose2d: gradients on the fast kernels match the reference ones") {
  // conv_transpose2d hands the kernels columns laid out (C kh kw, N, L): strided, unlike
  // unfold's; conv2d runs fused here and composed under the reference kernels.
  for (DType dtype : {kFloat32, kFloat64}) {
    Tensor x = random64({3, 4, 9, 7}, 800).to(dtype).requires_grad_();
    Tensor w = random64({6, 2, 3, 2}, 801).to(dtype).requires_grad_();
    Tensor wt = random64({4, 3, 2, 3}, 802).to(dtype).requires_grad_();
    const auto run = [&] {
      for (Tensor* t : {&x, &w, &wt}) t->zero_grad();
      const Tensor y = conv2d(x, w, {}, {.stride = {2, 1}, .padding = {1, 1}, .groups = 2});
      const Tensor z = conv_transpose2d(x, wt, {}, {.stride = {2, 2}, .dilation = {1, 2}});
      ((y * y).sum() + (z * z).sum()).backward();
      return std::vector<Tensor>{y.detach(), z.detach(), x.grad(), w.grad(), wt.grad()};
    };
    const std::vector<Tensor> fast = run();
    ReferenceKernelsGuard naive;
    const std::vector<Tensor> reference = run();
    for (size_t i = 0; i < fast.size(); ++i) {
      INFO("result " << i);
      check_close(fast[i], reference[i], 1e-4, 1e-4);
    }
  }
}

// `convolve` (x, weight, bias) forward and backward on the fused kernels, at 1, 2 and 3 threads,
// against the composed path (the reference table has no fused conv2d, so under
// ReferenceKernelsGuard conv2d and conv_transpose2d are composed from the naive im2col, gemm and
// col2im), with each of x, the weight and the bias wanting a gradient or not: to 1e-12 in
// float64; in float32 to 1e-5, and the weight's gradient to the exact answer (float64 on the
// same float32 values) within 2e-6 of its largest element.
template <typename Convolve>
void check_fused_against_composed(const Shape& x_shape, const Shape& w_shape, int64_t outputs,
                                  const Convolve& convolve, uint64_t& seed) {
  struct ThreadsRestored {  // even when a REQUIRE below ends the test
    int before = get_num_threads();
    ~ThreadsRestored() { set_num_threads(before); }
  } threads_restored;
  // the largest |a - b| over all elements
  const auto max_difference = [](const Tensor& a, const Tensor& b) {
    const std::vector<double> av = a.to_vector<double>(), bv = b.to_vector<double>();
    double largest = 0;
    for (size_t k = 0; k < av.size(); ++k) largest = std::max(largest, std::abs(av[k] - bv[k]));
    return largest;
  };
  // float32 values, held in float64 too: the float64 runs check the arithmetic to 1e-12, and
  // give the exact answer that the float32 runs' rounding is measured against
  const auto values = [&](const Shape& shape) {
    return random64(shape, ++seed).to(kFloat32).to(kFloat64);
  };
  const Tensor x64 = values(x_shape), w64 = values(w_shape), b64 = values({outputs});
  const Tensor upstream64 = values(convolve(x64, w64, b64).shape());
  for (DType dtype : {kFloat32, kFloat64}) {
    // which of x, w and b want a gradient: all, the weight's only (a first layer), x's only
    for (const std::array<bool, 3>& wanted : {std::array{true, true, true},
                                              {false, true, true},
                                              {true, false, false},
                                              {false, false, true}}) {
      const auto run = [&](DType type) {
        const Tensor xi = x64.to(type).detach().requires_grad_(wanted[0]);
        const Tensor wi = w64.to(type).detach().requires_grad_(wanted[1]);
        const Tensor bi = b64.to(type).detach().requires_grad_(wanted[2]);
        const Tensor y = convolve(xi, wi, bi);
        y.backward(upstream64.to(type));
        return std::vector<Tensor>{y.detach(), xi.grad(), wi.grad(), bi.grad()};
      };
      std::vector<Tensor> composed, exact;
      {
        ReferenceKernelsGuard naive;
        composed = run(dtype);
        exact = run(kFloat64);
      }
      for (int threads : {1, 2, 3}) {
        set_num_threads(threads);
        const std::vector<Tensor> fused = run(dtype);
        for (size_t i = 0; i < fused.size(); ++i) {
          INFO("x " << shape_str(x_shape) << ", w " << shape_str(w_shape) << ", "
                    << dtype_name(dtype) << ", " << threads << " threads, result " << i);
          REQUIRE(fused[i].defined() == composed[i].defined());
          if (!fused[i].defined()) continue;
          if (dtype == kFloat64) {
            check_close(fused[i], composed[i], 1e-12, 1e-12);
          } else if (i == 2) {
            // The weight's gradient sums over every pixel of the batch, with much
            // cancellation, so its small elements carry the rounding of the large ones.
            // Winograd sums transformed tiles, larger than the products they stand for: its
            // float32 error, measured up to 6e-7 of the gradient's largest element (im2col's:
            // 6e-8), is held to 2e-6 of it.
            const double largest = max_difference(exact[i], zeros_like(exact[i]));
            CHECK(max_difference(fused[i], exact[i]) <= 2e-6 * largest);
          } else {
            check_close(fused[i], composed[i], 1e-5, 1e-5);
          }
        }
      }
    }
  }
}

TEST_CASE(
    "the fused conv2d matches the composed one, whatever the chunks and the gradients wanted") {
  // The fused kernels cut the batch into chunks of images (more images per chunk the smaller
  // the map) spread over the threads.
  struct Case {
    Shape x, w;
    Conv2dOptions options;
  };
  const std::vector<Case> cases = {
      {{13, 3, 4, 4}, {5, 3, 3, 3}, {.padding = {1, 1}}},  // L = 16: chunks of several images
      {{5, 4, 9, 7}, {6, 2, 3, 2}, {.stride = {2, 1}, .padding = {1, 1}, .groups = 2}},
      {{3, 2, 30, 25}, {4, 2, 3, 3}, {.padding = {1, 1}, .dilation = {2, 1}}},  // one per chunk
      {{1, 4, 6, 5}, {4, 1, 3, 3}, {.stride = {2, 2}, .padding = {1, 1}, .groups = 4}},
      // at least as many input channels as output ones, stride 1: dx is a convolution of dy
      {{9, 6, 5, 5}, {6, 6, 3, 3}, {.padding = {1, 1}}},
      {{4, 8, 7, 9}, {4, 4, 3, 2}, {.padding = {1, 0}, .dilation = {1, 2}, .groups = 2}},
      {{2, 3, 6, 6}, {2, 3, 1, 1}, {.padding = {1, 1}}},  // padding beyond a 1x1 kernel's reach
      // 3x3 at stride 1, 8 or more channels a group, outputs of 4x4 or more: Winograd's
      // F(2x2, 3x3) for the forward and the weight's gradient, and for dx where dy's
      // convolution qualifies too
      {{5, 8, 4, 4}, {8, 8, 3, 3}, {.padding = {1, 1}}},  // the smallest map: 2x2 tiles
      {{7, 16, 5, 5}, {8, 16, 3, 3}, {.padding = {1, 1}}},
      {{3, 8, 9, 8}, {8, 8, 3, 3}, {.padding = {1, 1}}},  // odd rows: tiles cut at the edge
      {{2, 16, 10, 11}, {8, 16, 3, 3}, {}},               // odd columns
      {{2, 16, 8, 9}, {16, 8, 3, 3}, {.padding = {1, 2}, .groups = 2}},
      {{4, 8, 9, 9}, {16, 8, 3, 3}, {.padding = {1, 1}}},  // more outputs: dx by Winograd too
      // groups with more outputs than inputs a group: dx by Winograd with the counts swapped
      {{2, 16, 6, 6}, {32, 8, 3, 3}, {.padding = {1, 1}, .groups = 2}},
      // 64 tiles an image, chunks of 4 images (4, 4, 2): a thread takes several chunks, the
      // last one smaller, in scratch the one before used
      {{10, 8, 16, 16}, {8, 8, 3, 3}, {.padding = {1, 1}}},
      {{3, 8, 7, 7}, {8, 8, 3, 3}, {.padding = {2, 2}}},  // padding as wide as the kernel reaches
      // the weight's gradient by Winograd, dx by col2im: dy's convolution would need a padding
      // of -1, or has too small a map for Winograd and more outputs than inputs
      {{2, 8, 8, 8}, {8, 8, 3, 3}, {.padding = {3, 3}}},
      {{2, 8, 3, 3}, {16, 8, 3, 3}, {.padding = {2, 2}}},
  };
  uint64_t seed = 900;
  for (const Case& c : cases) {
    check_fused_against_composed(
        c.x, c.w, c.w[0],
        [&](const Tensor& x, const Tensor& w, const Tensor& b) {
          return conv2d(x, w, b, c.options);
        },
        seed);
  }
}

TEST_CASE("the fused conv_transpose2d (conv2d's kernels run backwards) matches the composed one") {
  // Its forward is the fused conv2d's dx, its backward the fused forward and weight gradient:
  // strided (col2im), with output_padding, dilation and groups, and at stride 1 with 3x3
  // (Winograd's, through dx as a convolution).
  struct Case {
    Shape x, w;
    ConvTranspose2dOptions options;
  };
  const std::vector<Case> cases = {
      {{8, 16, 2, 2}, {16, 8, 4, 4}, {.stride = {2, 2}, .padding = {1, 1}}},  // the GAN's
      {{3, 4, 5, 4}, {4, 3, 3, 2}, {.stride = {2, 3}, .padding = {1, 0}, .output_padding = {1, 2}}},
      {{2, 6, 4, 5},
       {6, 2, 3, 3},
       {.stride = {1, 2}, .padding = {2, 1}, .dilation = {1, 2}, .groups = 3}},
      {{5, 8, 6, 6}, {8, 8, 3, 3}, {.padding = {1, 1}}},
      {{2, 16, 7, 5}, {16, 4, 3, 3}, {.groups = 2}},
      // output_padding past the stride (allowed below the dilation): the output has a row and a
      // column no window reaches; dx by dy's convolution without Winograd
      {{2, 4, 5, 5},
       {4, 6, 3, 3},
       {.padding = {1, 1}, .output_padding = {1, 1}, .dilation = {2, 2}}},
  };
  uint64_t seed = 1900;
  for (const Case& c : cases) {
    check_fused_against_composed(
        c.x, c.w, c.w[1] * c.options.groups,
        [&](const Tensor& x, const Tensor& w, const Tensor& b) {
          return conv_transpose2d(x, w, b, c.options);
        },
        seed);
  }
}

TEST_CASE("a conv2d whose backward meets a table without the fused kernel fails clearly") {
  // The forward ran the fused kernel; the reference table has none: an Error, not a null call.
  const Tensor x = random64({1, 2, 5, 5}, 990).requires_grad_();
  const Tensor y = conv2d(x, random64({3, 2, 3, 3}, 991));
  ReferenceKernelsGuard naive;
  CHECK_THROWS_WITH_AS(y.sum().backward(), doctest::Contains("has no such kernel"), Error);
}

TEST_CASE("the CPU's conv2d_backward needs x for dweight, or dx for x's shape") {
  // x may be absent only when dx alone is asked (conv_transpose2d's forward); otherwise the
  // kernel refuses, naming what was missing, instead of reading a null view
  const Tensor dy = random64({1, 3, 4, 4}, 995), w = random64({3, 2, 3, 3}, 996);
  Tensor dweight = zeros(w.shape(), {kFloat64});
  const heed_view vdy = ops::view_of(dy), vw = ops::view_of(w), vdw = ops::view_of(dweight);
  const heed_window2d window = {
      .kernel = {3, 3}, .stride = {1, 1}, .padding = {1, 1}, .dilation = {1, 1}, .blocks = {4, 4}};
  CHECK(cpu::conv2d_backward(nullptr, &vw, &vdy, &window, 1, nullptr, &vdw, nullptr) != 0);
  CHECK(std::string(cpu::last_error()).find("x is absent, yet dweight is asked") !=
        std::string::npos);
  CHECK(cpu::conv2d_backward(nullptr, &vw, &vdy, &window, 1, nullptr, nullptr, nullptr) != 0);
}

TEST_CASE("conv2d of an image with no pixels, where the padding alone makes the output") {
  const Tensor x = zeros({1, 2, 0, 4}, {kFloat64}).requires_grad_();
  const Tensor w = random64({2, 2, 3, 3}, 992).requires_grad_();
  const Tensor y = conv2d(x, w, {}, {.padding = {2, 1}});
  REQUIRE(y.shape() == Shape{1, 2, 2, 4});
  check_close(y, zeros({1, 2, 2, 4}, {kFloat64}), 0, 0);
  y.sum().backward();
  CHECK(x.grad().shape() == x.shape());
  check_close(w.grad(), zeros(w.shape(), {kFloat64}), 0, 0);
}

TEST_CASE("conv ops refuse bad shapes and options, naming what they expected") {
  const Tensor x = zeros({2, 3, 5, 5}), w = zeros({4, 3, 3, 3});
  check_error([&] { conv2d(zeros({3, 5}), w); }, {"conv2d", "(N, C, H, W)", "(3, 5)"});
  check_error(
      [&] {
        conv2d(x, zeros({4, 2, 3, 3}));
      },
      {"conv2d", "(4, 3, kh, kw)", "(4, 2, 3, 3)"});
  check_error([&] { conv2d(x, zeros({4, 3, 3})); }, {"conv2d", "4 dims", "(4, 3, 3)"});
  check_error([&] { conv2d(x, w, zeros({5})); }, {"conv2d", "bias", "(4)", "(5,)"});
  check_error([&] { conv2d(x, w, {}, {.groups = 2}); }, {"conv2d", "groups", "3 input", "2"});
  check_error([&] { conv2d(x, w, {}, {.stride = {0, 1}}); }, {"conv2d", "stride", "height"});
  check_error([&] { conv2d(x, w, {}, {.padding = {0, -1}}); }, {"conv2d", "padding -1", "width"});
  check_error(
      [&] {
        conv2d(x, zeros({4, 3, 7, 3}));
      },
      {"conv2d", "height 5", "smaller than the window's extent 7"});
  check_error([&] { conv2d(x, w.to(kFloat64)); }, {"conv2d", "float32", "float64"});
  check_error(
      [&] {
        conv2d(int_tensor({1, 2, 3, 4}, {1, 1, 2, 2}), w);
      },
      {"conv2d", "float32 or float64", "int64"});
  check_error(
      [&] {
        conv_transpose2d(x, zeros({2, 3, 3, 3}));
      },
      {"conv_transpose2d", "(3, out_channels / groups, kh, kw)", "(2, 3, 3, 3)"});
  check_error(
      [&] {
        conv_transpose2d(x, w.transpose(0, 1), {}, {.output_padding = {1, 0}});
      },
      {"conv_transpose2d", "output_padding", "height", "stride 1", "dilation 1", "got 1"});
  check_error(
      [&] {
        conv_transpose2d(zeros({1, 3, 1, 1}), zeros({3, 2, 1, 1}), {}, {.padding = {1, 0}});
      },
      {"conv_transpose2d", "output height would be -1"});
  check_error([&] { unfold(zeros({3, 5, 5}), {2, 2}); }, {"unfold", "(N, C, H, W)", "(3, 5, 5)"});
  check_error([&] { unfold(x, {0, 2}); }, {"unfold", "kernel 0"});
  check_error(
      [&] {
        fold(zeros({2, 7, 9}), {4, 4}, {2, 2});
      },
      {"fold", "(N, C * 4, 9)", "(2, 7, 9)"});
  check_error([&] { fold(zeros({2, 8, 8}), {4, 4}, {2, 2}); }, {"fold", "9 windows", "(2, 8, 8)"});
  check_error([&] { fold(zeros({2, 8, 9}), {0, 4}, {2, 2}); }, {"fold", "output height >= 1"});
  // sizes whose products would wrap around: an error, never a short buffer written past
  const int64_t huge = int64_t{1} << 32;
  check_error(
      [&] {
        unfold(zeros({1, 1, 1, 1}), {huge, huge}, {.padding = {huge / 2, huge / 2}});
      },
      {"unfold", "too many"});
  check_error(
      [&] {
        conv2d(x, w, {}, {.dilation = {int64_t{1} << 62, 1}});
      },
      {"conv2d", "overflows a size"});
  check_error(
      [&] {
        conv_transpose2d(x, w.transpose(0, 1), {}, {.stride = {int64_t{1} << 62, 1}});
      },
      {"conv_transpose2d", "overflows a size"});
}
