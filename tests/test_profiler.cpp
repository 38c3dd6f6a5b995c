// The profiler (engine/profiler.hpp): which rows a forward and backward pass leave, with their
// kind and phase; that self time excludes nested scopes; that allocations land on the innermost
// scope; and that it records nothing while off.
#include <algorithm>

#include "engine/profiler.hpp"
#include "tests/helpers.hpp"

using namespace heed;
using namespace heed::testing;

TEST_CASE("profiler: a forward and backward pass leave op, kernel and backward rows") {
  const ProfilerOn on;
  const Tensor x = randn({16, 8}).requires_grad_();  // (16, 8)
  const Tensor w = randn({8, 4}).requires_grad_();   // (8, 4)
  const Tensor loss = x.matmul(w).tanh().sum();      // ()
  loss.backward();
  const std::vector<profiler::Row> rows = profiler::rows();
  using profiler::Kind, profiler::Phase;

  const auto matmul = find_row(rows, "matmul", Kind::op, Phase::forward);
  const auto gemm = find_row(rows, "gemm", Kind::kernel, Phase::forward);
  const auto tanh_backward = find_row(rows, "tanh", Kind::backward, Phase::backward);
  const auto accumulate = find_row(rows, "accumulate_grad", Kind::backward, Phase::backward);
  const auto gemm_backward = find_row(rows, "gemm", Kind::kernel, Phase::backward);
  REQUIRE(matmul.has_value());
  REQUIRE(gemm.has_value());
  REQUIRE(tanh_backward.has_value());
  REQUIRE(accumulate.has_value());
  REQUIRE(gemm_backward.has_value());
  CHECK(matmul->calls == 1);
  CHECK(gemm->calls == 1);           // one product forward
  CHECK(gemm_backward->calls == 2);  // dx = dy w^T, dw = x^T dy
  CHECK(accumulate->calls == 2);     // x and w
  // The kernel runs inside the op: the op's total holds it, its self time does not.
  CHECK(matmul->total_seconds >= gemm->total_seconds);
  CHECK(matmul->self_seconds <= matmul->total_seconds - gemm->total_seconds + 1e-9);
  for (const profiler::Row& row : rows) {
    INFO(row.name);
    CHECK(row.self_seconds >= 0);
    CHECK(row.self_seconds <= row.total_seconds + 1e-12);
  }
  // The (16, 4) product's storage is allocated by the op itself, not by its kernel.
  CHECK(matmul->bytes_allocated >= 16 * 4 * sizeof(float));
  CHECK(gemm->bytes_allocated == 0);
  // Nothing the forward ran is labelled backward, and the other way round.
  CHECK_FALSE(find_row(rows, "accumulate_grad", Kind::backward, Phase::forward).has_value());
  CHECK_FALSE(find_row(rows, "tanh", Kind::op, Phase::backward).has_value());
}

TEST_CASE("profiler: an op a backward closure calls is an op row of the backward phase") {
  const ProfilerOn on;
  const Tensor a = randn({3, 3}).requires_grad_();  // (3, 3)
  const Tensor b = randn({3, 3}).requires_grad_();  // (3, 3)
  (a * b).sum().backward();                         // mul's backward: da = dc * b, db = dc * a
  const std::vector<profiler::Row> rows = profiler::rows();
  const auto mul_forward = find_row(rows, "mul", profiler::Kind::op, profiler::Phase::forward);
  const auto mul_in_backward = find_row(rows, "mul", profiler::Kind::op, profiler::Phase::backward);
  REQUIRE(mul_forward.has_value());
  REQUIRE(mul_in_backward.has_value());
  CHECK(mul_forward->calls == 1);
  CHECK(mul_in_backward->calls == 2);
}

TEST_CASE("profiler: nothing is recorded while it is off, and reset forgets the rows") {
  const bool was_on = profiler::enabled();
  profiler::set_enabled(false);
  profiler::reset();
  const Tensor x = randn({4, 4});  // (4, 4)
  (void)(x + x).exp();
  CHECK(profiler::rows().empty());
  {
    // A scope opened while off closes without a trace even if the profiler is turned on inside.
    const profiler::Scope outer("opened while off");
    profiler::set_enabled(true);
  }
  CHECK(profiler::rows().empty());
  (void)x.exp();
  CHECK_FALSE(profiler::rows().empty());
  profiler::reset();
  CHECK(profiler::rows().empty());
  profiler::set_enabled(was_on);
}

TEST_CASE("profiler: the table has a header, sorted rows and a line for the rows left out") {
  const ProfilerOn on;
  const Tensor x = randn({64, 64});  // (64, 64)
  for (int i = 0; i < 3; ++i) (void)x.matmul(x).relu().sum();
  const std::vector<profiler::Row> rows = profiler::rows();
  REQUIRE(rows.size() >= 4);
  for (size_t i = 1; i < rows.size(); ++i) CHECK(rows[i - 1].self_seconds >= rows[i].self_seconds);
  const std::string full = profiler::table(100);
  CHECK(full.find("heed profile:") == 0);
  CHECK(full.find("self us/call") != std::string::npos);
  CHECK(full.find("gemm") != std::string::npos);
  CHECK(full.find("more rows") == std::string::npos);
  const std::string short_table = profiler::table(2);
  CHECK(short_table.find(fmt::format("... {} more rows", rows.size() - 2)) != std::string::npos);
}
