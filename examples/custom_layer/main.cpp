// custom_layer: RMSNorm and Mish with hand-written backwards (rms_norm.hpp, mish.hpp) and a
// SwiGLU block built from heed's layers (swiglu.hpp), all written outside heed, checked by
// central differences with heed::testing::gradcheck and trained together in a small model. Builds
// in heed's tree and, against an installed heed, on its own (this directory's meson.build, which
// finds heed through pkg-config).
#include <fmt/format.h>

#include <cmath>

#include "engine/testing.hpp"
#include "mish.hpp"
#include "rms_norm.hpp"
#include "swiglu.hpp"

using namespace heed;

int main() {
  try {
    // 1. The backward is right: for x and for the weight, in float64.
    Generator generator(0);
    const Tensor x = randn({3, 5}, {kFloat64}, &generator);
    const Tensor weight = randn({5}, {kFloat64}, &generator);
    const testing::GradcheckResult check = testing::gradcheck(
        [](const std::vector<Tensor>& in) { return custom::rms_norm(in[0], in[1], 1e-6); },
        {x, weight});
    fmt::print("rms_norm: {}\n", check.report);
    if (!check) fail("rms_norm's backward disagrees with finite differences");
    const testing::GradcheckResult mish_check =
        testing::gradcheck([](const std::vector<Tensor>& in) { return custom::mish(in[0]); },
                           {randn({4, 5}, {kFloat64}, &generator) * 3.0});
    fmt::print("mish: {}\n", mish_check.report);
    if (!mish_check) fail("mish's backward disagrees with finite differences");
    // SwiGLU has no backward of its own; the check still catches a wrong shape or op in it.
    custom::SwiGLU block(5, 8);
    block.to(kFloat64);
    const testing::GradcheckResult swiglu_check =
        testing::gradcheck([&](const std::vector<Tensor>& in) { return block(in[0]); },
                           {randn({3, 5}, {kFloat64}, &generator)});
    fmt::print("swiglu: {}\n", swiglu_check.report);
    if (!swiglu_check) fail("SwiGLU's gradient disagrees with finite differences");

    // 2. They train: a small network with all three learns y = tanh(2 x1) + x2 x3.
    manual_seed(0);
    nn::Sequential model({std::make_shared<nn::Linear>(3, 32),
                          std::make_shared<custom::RMSNorm>(32), std::make_shared<custom::Mish>(),
                          std::make_shared<custom::SwiGLU>(32, 64),
                          std::make_shared<nn::Linear>(32, 1)});
    fmt::print("{}\n", model.repr());
    nn::Adam optimizer({{model.parameters(), 0.01}});
    const Tensor inputs = randn({512, 3});  // (N, 3)
    const Tensor targets =
        (tanh(inputs.select(1, 0) * 2.0) + inputs.select(1, 1) * inputs.select(1, 2)).unsqueeze(1);
    double first = 0, last = 0;
    for (int step = 1; step <= 300; ++step) {
      optimizer.zero_grad();
      const Tensor loss = nn::mse_loss(model(inputs), targets);  // (N, 1) against (N, 1)
      loss.backward();
      optimizer.step();
      if (step == 1) first = loss.item();
      last = loss.item();
      if (step % 50 == 0) fmt::print("step {:>3}  mse {:.4f}\n", step, last);
    }
    if (!(last < 0.2 * first)) fail("training did not bring the loss down ({} -> {})", first, last);
    fmt::print("the loss fell from {:.4f} to {:.4f}\n", first, last);
  } catch (const Error& e) {
    fmt::print(stderr, "custom_layer: {}\n", e.what());
    return 2;
  }
  return 0;
}
