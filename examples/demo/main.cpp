// demo: the smallest end-to-end training run through the engine. A one-hidden-layer network
// learns to tell which of two noisy clusters a 2-D point comes from; the loss printed every
// 50 steps falls as plain gradient descent follows the gradients autograd computes.
#include <fmt/format.h>

#include <cstdlib>
#include <string>

#include "engine/heed.hpp"

namespace {

struct Config {
  int steps = 400;
  double learning_rate = 0.5;
  int threads = 0;
};

Config parse(int argc, char** argv) {
  Config config;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      fmt::print("usage: demo [--steps N (400)] [--lr RATE (0.5)] [--threads N (all cores)]\n");
      std::exit(0);
    }
    if (i + 1 >= argc) heed::fail("demo: flag {} needs a value", flag);
    const std::string value = argv[++i];
    try {
      if (flag == "--steps") {
        config.steps = std::stoi(value);
      } else if (flag == "--lr") {
        config.learning_rate = std::stod(value);
      } else if (flag == "--threads") {
        config.threads = std::stoi(value);
      } else {
        heed::fail("demo: unknown flag {} (see --help)", flag);
      }
    } catch (const std::logic_error&) {
      heed::fail("demo: flag {} expects a number, got '{}'", flag, value);
    }
  }
  if (config.steps < 1) heed::fail("demo: --steps must be at least 1, got {}", config.steps);
  return config;
}

}  // namespace

int main(int argc, char** argv) try {
  const Config config = parse(argc, argv);
  if (config.threads > 0) heed::set_num_threads(config.threads);
  heed::Generator generator(42);

  // Data: 512 points, class 0 around (-1, -1) and class 1 around (1, 1), with noise.
  const int64_t n = 512;
  const heed::Tensor labels = heed::randint(0, 2, {n}, &generator);                 // (N,)
  const heed::Tensor centers = labels.to(heed::kFloat32).unsqueeze(1) * 2.0 - 1.0;  // (N, 1)
  const heed::Tensor points = centers + heed::randn({n, 2}, {}, &generator) * 0.8;  // (N, 2)

  // Model: 2 -> 16 (tanh) -> 2 logits.
  heed::Tensor w1 = (heed::randn({2, 16}, {}, &generator) * 0.5).requires_grad_();
  heed::Tensor b1 = heed::zeros({16}, {.requires_grad = true});
  heed::Tensor w2 = (heed::randn({16, 2}, {}, &generator) * 0.5).requires_grad_();
  heed::Tensor b2 = heed::zeros({2}, {.requires_grad = true});

  for (int step = 1; step <= config.steps; ++step) {
    const heed::Tensor hidden = heed::tanh(heed::matmul(points, w1) + b1);  // (N, 16)
    const heed::Tensor logits = heed::matmul(hidden, w2) + b2;              // (N, 2)
    const heed::Tensor loss = heed::cross_entropy(logits, labels);
    loss.backward();
    {
      heed::NoGradGuard no_grad;
      for (heed::Tensor* p : {&w1, &b1, &w2, &b2}) {
        p->copy_(*p - p->grad() * config.learning_rate);
        p->zero_grad();
      }
    }
    if (step == 1 || step % 50 == 0) {
      const double accuracy =
          heed::eq(heed::argmax(logits, 1), labels).to(heed::kFloat32).mean().item();
      fmt::print("step {:4d}  loss {:.4f}  accuracy {:.1f}%\n", step, loss.item(), 100 * accuracy);
    }
  }
  return 0;
} catch (const heed::Error& error) {
  fmt::print(stderr, "error: {}\n", error.what());
  return 2;
}
