// dropout: seeded, scaling what it keeps, the identity in eval.
#include "tests/helpers.hpp"

using namespace heed;
using namespace heed::testing;

TEST_CASE("dropout is seeded, scales what it keeps, and is the identity in eval") {
  const Tensor x = ones({10000}, {kFloat64});
  Generator a(3), b(3);
  const Tensor y = dropout(x, 0.3, true, &a);
  check_close(y, dropout(x, 0.3, true, &b), 0, 0);
  int64_t kept = 0;
  for (double v : y.to_vector<double>()) {
    CHECK((v == 0.0 || std::abs(v - 1 / 0.7) < 1e-12));
    kept += v != 0.0;
  }
  CHECK(std::abs(static_cast<double>(kept) / 10000 - 0.7) < 0.02);
  CHECK(dropout(x, 0.3, false).shares_storage_with(x));
  check_values(dropout(ones({3}), 1.0, true), {0, 0, 0});
  Tensor leaf = ones({50}, {kFloat64}).requires_grad_();
  Generator c(4), d(4);
  dropout(leaf, 0.5, true, &c).sum().backward();
  check_close(leaf.grad(), dropout(ones({50}, {kFloat64}), 0.5, true, &d), 0,
              0);  // dx = mask / (1 - p)
  check_error([] { dropout(ones({2}), 1.5, true); }, {"dropout", "1.5"});
}
