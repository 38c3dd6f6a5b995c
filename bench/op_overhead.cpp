// The fixed cost of an op: a chain of LENGTH small ops (mul, add, tanh, sub in turn, on vectors
// of SIZE elements) run forward with autograd recording, then backward; and the same chain
// forward under NoGradGuard. With a handful of elements the arithmetic is nothing, so the time
// per op is what every op pays whatever its size: argument checks, shape bookkeeping, the
// output's allocation, the autograd node and its closure, the kernel call.
// bench/compare_op_overhead.py runs the same chain in PyTorch. Prints one JSON line of microseconds
// per op (medians):
//   {"length": L, "size": S, "forward_us": ..., "backward_us": ..., "no_grad_us": ...}
//
// Usage: op_overhead [LENGTH] [SIZE] [REPEATS] [THREADS]    (defaults 1000 16 21 1)
#include <algorithm>
#include <chrono>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "engine/heed.hpp"
#include "examples/common/checks.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// y <- y * w, y + w, tanh(y), y - w, in turn: LENGTH ops.
heed::Tensor chain(heed::Tensor y, const heed::Tensor& w, int64_t length) {
  for (int64_t i = 0; i < length; ++i) {
    switch (i % 4) {
      case 0:
        y = y * w;
        break;
      case 1:
        y = y + w;
        break;
      case 2:
        y = y.tanh();
        break;
      default:
        y = y - w;
        break;
    }
  }
  return y;
}

int run(int argc, char** argv) {
  if (argc > 5) {
    fmt::print(stderr, "usage: op_overhead [LENGTH] [SIZE] [REPEATS] [THREADS]\n");
    return 2;
  }
  const int64_t length =
      argc > 1 ? examples::parse_whole_number(argv[1], "LENGTH", {1, 1000000}) : 1000;
  const int64_t size = argc > 2 ? examples::parse_whole_number(argv[2], "SIZE", {1, 1 << 20}) : 16;
  const int64_t repeats =
      argc > 3 ? examples::parse_whole_number(argv[3], "REPEATS", {1, 1000}) : 21;
  heed::set_num_threads(
      argc > 4 ? static_cast<int32_t>(examples::parse_whole_number(argv[4], "THREADS", {1, 1024}))
               : 1);

  const heed::Tensor x = heed::randn({size}).requires_grad_();      // (S,)
  const heed::Tensor w = heed::full({size}, 0.5).requires_grad_();  // (S,)
  std::vector<double> forward, backward, no_grad;
  for (int64_t r = 0; r <= repeats; ++r) {  // the first round warms the caches and is dropped
    x.zero_grad(), w.zero_grad();
    auto start = Clock::now();
    const heed::Tensor loss = chain(x, w, length).sum();  // ()
    const double forward_s = seconds_since(start);
    start = Clock::now();
    loss.backward();
    const double backward_s = seconds_since(start);
    double no_grad_s = 0;
    {
      heed::NoGradGuard guard;
      start = Clock::now();
      (void)chain(x, w, length);
      no_grad_s = seconds_since(start);
    }
    if (r == 0) continue;
    forward.push_back(1e6 * forward_s / static_cast<double>(length));
    backward.push_back(1e6 * backward_s / static_cast<double>(length));
    no_grad.push_back(1e6 * no_grad_s / static_cast<double>(length));
  }
  const nlohmann::json out = {{"length", length},
                              {"size", size},
                              {"forward_us", median(forward)},
                              {"backward_us", median(backward)},
                              {"no_grad_us", median(no_grad)}};
  fmt::print("{}\n", out.dump());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    fmt::print(stderr, "op_overhead: {}\n", e.what());
    return 2;
  }
}
