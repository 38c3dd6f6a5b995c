// Backend parity: every op, forward and backward, on every device backend that can run here,
// against the CPU backend. Without a usable GPU (no plugin, no driver, no device) the suite
// prints why and checks nothing else; with one, float32 must agree to 1e-5 relative (TF32 off,
// the default) and float64 more tightly.
#include <functional>
#include <optional>

#include "tests/helpers.hpp"

using namespace heed;
using namespace heed::testing;

namespace {

using Inputs = std::vector<Tensor>;
using Op = std::function<std::vector<Tensor>(const Inputs&)>;

// The CUDA device if a tensor can be placed on it; otherwise the reason it cannot.
std::optional<std::string> cuda_unavailable() {
  try {
    (void)zeros({1}).to(Device::cuda());
    return std::nullopt;
  } catch (const Error& error) {
    return std::string(error.what());
  }
}

// A backend to compare with the CPU's fast kernels: a device, or the CPU's reference kernels.
struct Backend {
  Device device;
  bool reference_kernels = false;
};

// Runs op on copies of `inputs` on the backend, then backward from sum(out * probe) over its
// floating outputs; returns the outputs and the inputs' gradients, all moved to the CPU.
std::vector<Tensor> run_on(Backend backend, const Inputs& inputs, const Op& op) {
  std::optional<ReferenceKernelsGuard> naive;
  if (backend.reference_kernels) naive.emplace();
  const Device device = backend.device;
  Inputs placed;
  for (const Tensor& input : inputs) {
    Tensor moved = input.to(device).detach();
    if (moved.is_floating_point()) moved.requires_grad_();
    placed.push_back(moved);
  }
  const std::vector<Tensor> outputs = op(placed);
  Tensor objective;
  Generator generator(99);
  for (const Tensor& out : outputs) {
    if (!out.is_floating_point() || !out.requires_grad()) continue;
    const Tensor probe = randn(out.shape(), {out.dtype()}, &generator).to(device);
    const Tensor term = (out * probe).sum();
    objective = objective.defined() ? objective + term : term;
  }
  if (objective.defined()) objective.backward();
  std::vector<Tensor> results;
  for (const Tensor& out : outputs) results.push_back(out.detach().to(kCPU));
  for (const Tensor& input : placed) {
    if (input.requires_grad() && input.grad().defined()) results.push_back(input.grad().to(kCPU));
  }
  return results;
}

void check_parity(Backend backend, const std::string& name, const Inputs& inputs, const Op& op) {
  INFO(name);
  const std::vector<Tensor> expected = run_on({kCPU}, inputs, op);
  const std::vector<Tensor> actual = run_on(backend, inputs, op);
  REQUIRE(actual.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const double tolerance = expected[i].dtype() == kFloat64 ? 1e-10 : 1e-5;
    check_close(actual[i], expected[i], tolerance, tolerance);
  }
}

Tensor random32(const Shape& shape, uint64_t seed) {
  return random64(shape, seed).to(kFloat32);
}

void run_parity_suite(Backend device) {
  const Tensor a = random32({4, 5}, 1), b = random32({4, 5}, 2), row = random32({5}, 3);
  const Tensor positive = random32({4, 5}, 4).abs() + 0.5;
  auto one = [](const Tensor& t) { return std::vector<Tensor>{t}; };
  // Elementwise, with broadcasting and a transposed operand.
  check_parity(device, "add/sub/mul/div broadcast", {a, row}, [&](const Inputs& x) {
    return std::vector<Tensor>{x[0] + x[1], x[0] - x[1], x[0] * x[1], x[0] / (x[1].abs() + 1.0)};
  });
  check_parity(device, "binary on a transposed view", {a, random32({5, 4}, 5)},
               [&](const Inputs& x) { return one(x[0] * x[1].t()); });
  check_parity(device, "pow, maximum, minimum", {positive, b}, [&](const Inputs& x) {
    return std::vector<Tensor>{pow(x[0], x[1]), pow(x[0], 3.0), maximum(x[0], x[1]),
                               minimum(x[0], x[1])};
  });
  check_parity(device, "unary", {a, positive}, [&](const Inputs& x) {
    return std::vector<Tensor>{-x[0],
                               exp(x[0]),
                               log(x[1]),
                               sqrt(x[1]),
                               abs(x[0]),
                               tanh(x[0]),
                               sigmoid(x[0]),
                               relu(x[0]),
                               gelu(x[0]),
                               gelu(x[0], "tanh"),
                               clamp(x[0], -0.5, 0.5),
                               log1p(x[1]),
                               expm1(x[0]),
                               sin(x[0]),
                               cos(x[0]),
                               erf(x[0]),
                               silu(x[0]),
                               softplus(x[0], 2.0, 1.0)};
  });
  check_parity(device, "comparisons and where", {a, b}, [&](const Inputs& x) {
    const Tensor mask = gt(x[0], x[1]);
    return std::vector<Tensor>{where(mask, x[0], x[1]), mask.to(kFloat32),
                               logical_not(mask).to(kFloat32), eq(x[0], x[0]).to(kFloat32),
                               masked_fill(x[0], mask, 0.25)};
  });
  // Reductions.
  check_parity(device, "sum, mean, amax, max, argmax", {random32({3, 4, 5}, 6)},
               [&](const Inputs& x) {
                 return std::vector<Tensor>{
                     x[0].sum(),      x[0].sum({1}),      x[0].mean({0, 2}, true),
                     x[0].amax({-1}), max(x[0], 1).first, argmax(x[0], -1).to(kFloat32)};
               });
  // Products, including broadcast batches and transposed operands.
  check_parity(device, "matmul, bmm, mm", {random32({3, 4, 6}, 7), random32({3, 6, 2}, 8)},
               [&](const Inputs& x) {
                 return std::vector<Tensor>{bmm(x[0], x[1]), matmul(x[0], x[1].select(0, 0)),
                                            mm(x[0].select(0, 1).t(), x[0].select(0, 2)),
                                            matmul(x[1].transpose(1, 2), x[0].transpose(1, 2))};
               });
  check_parity(device, "matmul float64", {random64({5, 7}, 9), random64({7, 3}, 10)},
               [&](const Inputs& x) { return one(matmul(x[0], x[1])); });
  // Softmax and every mask.
  const Tensor scores = random32({2, 3, 6}, 11);
  check_parity(device, "softmax, log_softmax", {scores}, [&](const Inputs& x) {
    return std::vector<Tensor>{softmax(x[0], -1), log_softmax(x[0], -1)};
  });
  check_parity(device, "masked_softmax", {scores}, [&](const Inputs& x) {
    const Device d = x[0].device();
    const Tensor lens = int_tensor({4, 0}).to(d), row_lens = int_tensor({1, 6, 3, 2, 5, 0}, {2, 3});
    const Tensor keep = tensor({{1, 0, 1, 1, 0, 1}, {0, 0, 0, 0, 0, 0}}).unsqueeze(1).to(d);
    return std::vector<Tensor>{masked_softmax(x[0], {.valid_lens = lens}),
                               masked_softmax(x[0], {.valid_lens = row_lens.to(d)}),
                               masked_softmax(x[0], {.keep_mask = keep}),
                               masked_softmax(x[0], {.causal = true}),
                               masked_softmax(x[0], {.valid_lens = lens, .causal = true})};
  });
  // Losses, normalisation, indexing.
  check_parity(device, "cross_entropy", {random32({6, 9}, 12)}, [&](const Inputs& x) {
    const Tensor targets = int_tensor({0, 8, -100, 3, 3, 1}).to(x[0].device());
    return std::vector<Tensor>{cross_entropy(x[0], targets),
                               cross_entropy(x[0], targets, {.reduction = Reduction::Sum})};
  });
  check_parity(device, "layer_norm", {random32({4, 7}, 13), random32({7}, 14), random32({7}, 15)},
               [&](const Inputs& x) { return one(layer_norm(x[0], {7}, x[1], x[2])); });
  check_parity(device, "index_select, embedding, gather", {random32({6, 4}, 16)},
               [&](const Inputs& x) {
                 const Device d = x[0].device();
                 const Tensor ids = int_tensor({5, 0, 5, 2}).to(d);
                 const Tensor index = int_tensor({1, 0, 3, 3, 2, 0}, {6, 1}).to(d);
                 return std::vector<Tensor>{index_select(x[0], 0, ids), embedding(x[0], ids, 2),
                                            gather(x[0], 1, index)};
               });
  // Fused recurrent and attention ops, and the optimizer step.
  check_parity(device, "gru_cell",
               {random32({3, 12}, 17), random32({3, 12}, 18), random32({3, 4}, 19)},
               [&](const Inputs& x) { return one(gru_cell(x[0], x[1], x[2])); });
  check_parity(device, "additive_scores",
               {random32({2, 3, 8}, 20), random32({2, 5, 8}, 21), random32({8}, 22)},
               [&](const Inputs& x) { return one(additive_scores(x[0], x[1], x[2])); });
  check_parity(device, "scaled_dot_product_attention",
               {random32({2, 2, 5, 4}, 24), random32({2, 2, 7, 4}, 25), random32({2, 2, 7, 3}, 26)},
               [&](const Inputs& x) {
                 const Device d = x[0].device();
                 const Tensor keep = int_tensor({1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1}, {2, 7});
                 return one(scaled_dot_product_attention(x[0], x[1], x[2],
                                                         {.causal = true, .key_keep = keep.to(d)}));
               });
  // Convolutions and pooling (im2col, col2im, the max-pool choice).
  check_parity(
      device, "conv2d, conv_transpose2d",
      {random32({2, 4, 7, 6}, 27), random32({6, 2, 3, 3}, 28), random32({6}, 29),
       random32({4, 3, 2, 3}, 30)},
      [&](const Inputs& x) {
        return std::vector<Tensor>{
            conv2d(x[0], x[1], x[2], {.stride = {2, 1}, .padding = {1, 2}, .groups = 2}),
            conv_transpose2d(x[0], x[3], {},
                             {.stride = {2, 2}, .padding = {1, 0}, .output_padding = {1, 1}})};
      });
  check_parity(device, "max_pool2d, avg_pool2d", {random32({2, 3, 9, 8}, 31)},
               [&](const Inputs& x) {
                 return std::vector<Tensor>{
                     max_pool2d(x[0], {3, 2}, {.stride = {2, 1}, .padding = {1, 1}}),
                     avg_pool2d(x[0], {2, 2}, {.padding = {1, 0}, .count_include_pad = false})};
               });
  check_parity(device, "dropout (the mask is drawn on the host)", {a}, [&](const Inputs& x) {
    Generator generator(5);
    return one(dropout(x[0], 0.3, true, &generator));
  });
  check_parity(device, "views, cat, stack, unbind", {random32({2, 3, 4}, 23)},
               [&](const Inputs& x) {
                 const Tensor t = x[0];
                 return std::vector<Tensor>{t.permute({2, 0, 1}).contiguous(),
                                            t.narrow(2, 1, 2).reshape({-1}),
                                            t.select(1, 2).expand({3, 2, 4}).contiguous(),
                                            cat({t, t * 2.0}, 1), stack(unbind(t, 1), 0)};
               });
  {
    INFO("adam_step_");
    auto adam = [&](Backend backend) {
      std::optional<ReferenceKernelsGuard> naive;
      if (backend.reference_kernels) naive.emplace();
      const Device d = backend.device;
      Tensor p = random32({5, 3}, 24).to(d), m = zeros({5, 3}).to(d), v = zeros({5, 3}).to(d);
      for (int64_t t = 1; t <= 3; ++t) {
        adam_step_(p, random32({5, 3}, 30 + uint64_t(t)).to(d), m, v,
                   {.lr = 0.01, .weight_decay = 0.1, .decoupled = true, .step = t});
      }
      return std::vector<Tensor>{p.to(kCPU), m.to(kCPU), v.to(kCPU)};
    };
    const auto expected = adam({kCPU}), actual = adam(device);
    for (size_t i = 0; i < expected.size(); ++i) check_close(actual[i], expected[i], 1e-5, 1e-5);
  }
}

}  // namespace

TEST_CASE("backend parity: every op on every device backend matches the CPU") {
  if (const auto reason = cuda_unavailable()) {
    MESSAGE("skipping the CUDA parity suite: " << *reason);
    return;
  }
  run_parity_suite({Device::cuda()});
}

TEST_CASE("backend parity: the suite itself runs on the CPU reference kernels") {
  // The same cases, with the reference kernels standing in for a second backend: this keeps the
  // suite compiling and running everywhere, and checks the fast CPU kernels once more.
  run_parity_suite({kCPU, /*reference_kernels=*/true});
}
