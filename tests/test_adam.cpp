// adam_step_: the fused Adam update against its composite and the naive reference kernel,
// and its errors on mismatched or non-contiguous state.
#include "tests/helpers.hpp"

using namespace heed;
using namespace heed::testing;

TEST_CASE("adam_step_: the fused kernel equals the composite update and the reference kernel") {
  for (DType dtype : {kFloat64, kFloat32}) {
    const double tolerance = dtype == kFloat64 ? 1e-13 : 2e-6;
    for (const AdamStep& base : {AdamStep{.lr = 0.01}, AdamStep{.lr = 0.02, .weight_decay = 0.1},
                                 AdamStep{.lr = 0.005, .weight_decay = 0.3, .decoupled = true}}) {
      INFO(dtype_name(dtype) << ", weight decay " << base.weight_decay << ", decoupled "
                             << base.decoupled);
      Generator generator(7);
      const Tensor start = randn({37, 5}, {kFloat64}, &generator).to(dtype);
      std::vector<Tensor> grads;
      for (int i = 0; i < 4; ++i) grads.push_back(randn({37, 5}, {kFloat64}, &generator).to(dtype));
      auto run = [&](auto update) {
        Tensor p = start.clone(), m = zeros_like(start), v = zeros_like(start);
        for (int64_t t = 1; t <= 4; ++t) {
          AdamStep o = base;
          o.step = t;
          update(p, grads[size_t(t - 1)], m, v, o);
        }
        return std::vector<Tensor>{p, m, v};
      };
      check_fused(run, adam_step_, adam_step_composite_, tolerance);
      CHECK((run(adam_step_)[0] - start).abs().sum().item() > 0);  // the parameter moved
    }
  }
}

TEST_CASE("adam_step_ rejects mismatched or non-contiguous state") {
  Tensor p = ones({3, 2}), m = zeros({3, 2}), v = zeros({3, 2});
  check_error([&] { adam_step_(p, ones({2, 3}), m, v, {}); }, {"adam_step_", "(3, 2)", "(2, 3)"});
  Tensor transposed = zeros({2, 3}).t();
  check_error(
      [&] {
        adam_step_(p, ones({3, 2}), transposed, v, {});
      },
      {"adam_step_", "contiguous"});
  check_error(
      [&] {
        adam_step_(p, ones({3, 2}), m, v, {.step = 0});
      },
      {"adam_step_", "starts at 1"});
}
