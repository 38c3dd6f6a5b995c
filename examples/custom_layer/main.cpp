// custom_layer: RMSNorm, written outside heed (rms_norm.hpp), checked by central differences
// and trained in a small model. Builds in heed's tree and, against an installed heed, on its
// own (this directory's meson.build, which finds heed through pkg-config).
#include <fmt/format.h>

#include <cmath>

#include "rms_norm.hpp"

using namespace heed;

namespace {

// Autograd's gradient of sum(f(x) * probe) against central differences, element by element,
// in float64. Returns the largest difference.
double gradcheck(const std::function<Tensor(const Tensor&)>& f, Tensor x) {
  x.requires_grad_();
  Generator generator(1);
  const Tensor probe = randn(f(x).shape(), {kFloat64}, &generator);
  (f(x) * probe).sum().backward();
  const std::vector<double> analytic = x.grad().to_vector<double>();
  NoGradGuard no_grad;
  double worst = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double eps = 1e-6, saved = x.data_ptr<double>()[i];
    x.data_ptr<double>()[i] = saved + eps;
    const double plus = (f(x) * probe).sum().item();
    x.data_ptr<double>()[i] = saved - eps;
    const double minus = (f(x) * probe).sum().item();
    x.data_ptr<double>()[i] = saved;
    worst = std::max(worst, std::abs(analytic[size_t(i)] - (plus - minus) / (2 * eps)));
  }
  return worst;
}

}  // namespace

int main() {
  try {
    // 1. The backward is right: for x and for the weight, in float64.
    Generator generator(0);
    const Tensor x = randn({3, 5}, {kFloat64}, &generator);
    const Tensor weight = randn({5}, {kFloat64}, &generator);
    const double dx_error = gradcheck(
        [&](const Tensor& input) { return custom::rms_norm(input, weight, 1e-6); }, x.clone());
    const double dw_error =
        gradcheck([&](const Tensor& w) { return custom::rms_norm(x, w, 1e-6); }, weight.clone());
    fmt::print(
        "gradcheck: largest |autograd - finite difference| for x {:.1e}, for weight {:.1e}\n",
        dx_error, dw_error);
    if (dx_error > 1e-6 || dw_error > 1e-6)
      fail("rms_norm's backward disagrees with finite differences");

    // 2. It trains: a small network with RMSNorm learns y = tanh(2 x1) + x2 x3.
    manual_seed(0);
    nn::Sequential model({std::make_shared<nn::Linear>(3, 32),
                          std::make_shared<custom::RMSNorm>(32), std::make_shared<nn::Tanh>(),
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
