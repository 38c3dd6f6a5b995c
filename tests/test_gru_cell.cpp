// gru_cell: the fused GRU step against its composite and the reference kernels, gradcheck
// in both dtypes, and errors.
#include "tests/helpers.hpp"

using namespace heed;
using namespace heed::testing;

TEST_CASE("gru_cell: fused forward and backward equal the composite, in both dtypes") {
  for (DType dtype : {kFloat64, kFloat32}) {
    const double tolerance = dtype == kFloat64 ? 1e-12 : 2e-6;
    for (int64_t hidden : {1, 5, 17, 40}) {
      INFO("hidden " << hidden << ", " << dtype_name(dtype));
      Generator generator(static_cast<uint64_t>(hidden));
      auto make = [&](const Shape& shape) {
        return (randn(shape, {kFloat64}, &generator) * 2.0).to(dtype).requires_grad_();
      };
      const Tensor in = make({3, 3 * hidden}), hid = make({3, 3 * hidden}), h = make({3, hidden});
      const Tensor upstream = randn({3, hidden}, {kFloat64}, &generator).to(dtype);
      auto run = [&](auto cell) {
        in.zero_grad(), hid.zero_grad(), h.zero_grad();
        const Tensor out = cell(in, hid, h);
        (out * upstream).sum().backward();
        return std::vector<Tensor>{out, in.grad(), hid.grad(), h.grad()};
      };
      check_fused(run, gru_cell, gru_cell_composite, tolerance);
    }
  }
}

TEST_CASE("gru_cell: gradcheck and errors") {
  check_gradients([](const std::vector<Tensor>& x) { return gru_cell(x[0], x[1], x[2]); },
                  {random64({2, 9}, 41), random64({2, 9}, 42), random64({2, 3}, 43)});
  check_error(
      [] {
        gru_cell(ones({2, 9}), ones({2, 9}), ones({2, 4}));
      },
      {"gru_cell", "(B, 3H)", "(2, 9)", "(2, 4)"});
  check_error([] { gru_cell(ones({2, 9}), ones({2, 6}), ones({2, 3})); }, {"gru_cell", "(2, 6)"});
  check_error(
      [] {
        gru_cell(ones({2, 9}), ones({2, 9}), ones({2, 3}, {kFloat64}));
      },
      {"gru_cell", "one dtype"});
}
