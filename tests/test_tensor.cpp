// Tensors: factories, dtypes, views sharing storage, copies, element access, printing.
#include "engine/sanitizer.hpp"
#include "tests/helpers.hpp"

using namespace heed;
using namespace heed::testing;

TEST_CASE("factories make the requested shape, dtype and values") {
  CHECK(zeros({2, 3}).shape() == Shape{2, 3});
  CHECK(zeros({2, 3}).dtype() == kFloat32);
  check_values(ones({2}, {kFloat64}), {1, 1});
  check_values(full({3}, 2.5), {2.5, 2.5, 2.5});
  check_values(arange(5), {0, 1, 2, 3, 4});
  CHECK(arange(5).dtype() == kInt64);
  check_values(arange(1.0, 2.0, 0.25, {kFloat64}), {1, 1.25, 1.5, 1.75});
  check_values(tensor({{1, 2}, {3, 4}}), {1, 2, 3, 4});
  CHECK(tensor({{1, 2}, {3, 4}}).shape() == Shape{2, 2});
  CHECK(empty({0, 4}).numel() == 0);
  CHECK(scalar_tensor(3).dim() == 0);
  CHECK(scalar_tensor(3).item() == 3);
}

TEST_CASE("seeded generators are reproducible and have the right moments") {
  Generator a(7), b(7);
  check_close(randn({100}, {}, &a), randn({100}, {}, &b), 0, 0);
  Generator g(1);
  const Tensor u = rand({20000}, {kFloat64}, &g);
  CHECK(u.amin().item() >= 0.0);
  CHECK(u.amax().item() < 1.0);
  CHECK(std::abs(u.mean().item() - 0.5) < 0.01);
  const Tensor n = randn({20000}, {kFloat64}, &g);
  CHECK(std::abs(n.mean().item()) < 0.03);
  CHECK(std::abs((n * n).mean().item() - 1.0) < 0.05);
  const Tensor r = randint(3, 7, {1000}, &g);
  CHECK(r.amin().item() == 3);
  CHECK(r.amax().item() == 6);
  check_error([&] { randint(5, 5, {2}); }, {"randint", "low < high"});
}

TEST_CASE("views share storage and copies do not") {
  const Tensor x = arange(0.0, 24.0, 1.0, {kFloat64}).reshape({2, 3, 4});
  const Tensor t = x.transpose(0, 2);
  CHECK(t.shape() == Shape{4, 3, 2});
  CHECK(t.shares_storage_with(x));
  CHECK_FALSE(t.is_contiguous());
  CHECK(t.at({3, 2, 1}) == x.at({1, 2, 3}));
  CHECK(x.permute({2, 0, 1}).at({3, 1, 2}) == x.at({1, 2, 3}));
  CHECK(x.narrow(2, 1, 2).shape() == Shape{2, 3, 2});
  CHECK(x.narrow(2, 1, 2).at({1, 2, 0}) == x.at({1, 2, 1}));
  CHECK(x.slice(2, 0, std::nullopt, 2).at({0, 1, 1}) == x.at({0, 1, 2}));
  CHECK(x.slice(1, -2, std::nullopt).size(1) == 2);
  CHECK(x.select(1, -1).shape() == Shape{2, 4});
  CHECK(x.select(1, -1).at({1, 3}) == 23);
  CHECK(x.unsqueeze(1).shape() == Shape{2, 1, 3, 4});
  CHECK(x.unsqueeze(-1).shape() == Shape{2, 3, 4, 1});
  CHECK(x.unsqueeze(1).squeeze().shape() == Shape{2, 3, 4});
  CHECK(x.unsqueeze(1).squeeze(1).shape() == Shape{2, 3, 4});
  CHECK(x.flatten().shape() == Shape{24});
  CHECK(x.flatten(1).shape() == Shape{2, 12});
  CHECK(x.view({6, -1}).shape() == Shape{6, 4});
  const Tensor e = tensor({1, 2, 3}).expand({2, 3});
  CHECK(e.strides() == Shape{0, 1});
  CHECK(e.shares_storage_with(e.contiguous()) == false);
  // reshape of a non-contiguous view copies; view refuses
  CHECK_FALSE(t.reshape({-1}).shares_storage_with(x));
  check_error([&] { t.view({-1}); }, {"view", "not contiguous"});
  // writes through a view are seen by the base
  Tensor base = zeros({2, 3});
  base.narrow(1, 1, 1).fill_(5);
  check_values(base, {0, 5, 0, 0, 5, 0});
}

TEST_CASE("clone, contiguous, to(dtype), cat, stack, split and chunk") {
  const Tensor x = arange(0.0, 6.0, 1.0, {kFloat32}).reshape({2, 3});
  const Tensor c = x.clone();
  CHECK_FALSE(c.shares_storage_with(x));
  check_close(c, x, 0, 0);
  check_values(x.t().contiguous(), {0, 3, 1, 4, 2, 5});
  CHECK(x.to(kFloat64).dtype() == kFloat64);
  check_values(tensor({1.7, -1.7}).to(kInt64), {1, -1});
  check_values(tensor({0, 2}).to(kBool), {0, 1});
  check_values(cat({x, x * 10.0}, 0), {0, 1, 2, 3, 4, 5, 0, 10, 20, 30, 40, 50});
  CHECK(cat({x, x}, 1).shape() == Shape{2, 6});
  CHECK(stack({x, x}, 1).shape() == Shape{2, 2, 3});
  const auto parts = x.split(2, 1);
  REQUIRE(parts.size() == 2);
  CHECK(parts[1].shape() == Shape{2, 1});
  CHECK(x.chunk(3, 1).size() == 3);
  check_error([&] { cat({x, zeros({3, 3})}, 1); }, {"cat", "(3, 3)"});
  check_error([&] { stack({x, zeros({3})}); }, {"stack"});
  check_error([&] { cat({x, x.to(kFloat64)}); }, {"cat", "float64"});
}

TEST_CASE("element access, to_vector and printing") {
  const Tensor x = tensor({{1, 2}, {3, 4}}, {kFloat64});
  CHECK(x.at({1, 0}) == 3);
  CHECK(x.to_vector<double>() == std::vector<double>{1, 2, 3, 4});
  CHECK(to_string(x) == "tensor([[1.0000, 2.0000],\n        [3.0000, 4.0000]], dtype=float64)");
  CHECK(to_string(int_tensor({1, 2})) == "tensor([1, 2])");
  CHECK(fmt::format("{}", ones({2}, {.requires_grad = true})) ==
        "tensor([1.0000, 1.0000], requires_grad=True)");
  Tensor leaf = ones({2}, {.requires_grad = true});
  CHECK(to_string(leaf * 2.0) == "tensor([2.0000, 2.0000], grad_fn=<mul>)");
}

TEST_CASE("tensor errors name the op and the shapes") {
  const Tensor x = zeros({2, 3});
  check_error([&] { x.item(); }, {"item", "(2, 3)"});
  check_error([&] { x.view({4, 2}); }, {"view", "(4, 2)", "(2, 3)"});
  check_error([&] { x.transpose(0, 2); }, {"transpose", "dim 2"});
  check_error([&] { x.select(1, 3); }, {"select", "index 3", "size 3"});
  check_error([&] { x.narrow(0, 1, 2); }, {"narrow", "size 2"});
  check_error([&] { x.expand({4, 3}); }, {"expand", "(2, 3)", "(4, 3)"});
  check_error([&] { x.permute({0, 0}); }, {"permute", "twice"});
  check_error([&] { zeros({1, 1, 1, 1, 1, 1, 1, 1, 1}); }, {"at most 8 dims"});
  check_error([&] { zeros(Shape(17, 1)); }, {"at most 16 numbers", "17"});
  check_error([&] { tensor({1, 2, 3}, {kFloat32}).view({-1, -1}); }, {"view", "-1"});
  check_error([&] { tensor(std::vector<double>{1, 2}, {3}); }, {"tensor", "(3,)", "2 values"});
  check_error([&] { int_tensor({1}).requires_grad_(); }, {"requires_grad_", "int64"});
  check_error([&] { Tensor().shape(); }, {"undefined"});
  check_error([&] { zeros({2}).to(Device::cuda()); }, {"cuda", "libheed-cuda.so"});
}

TEST_CASE("the CPU block cache reuses large blocks and empties on request") {
  empty_cpu_cache();
  CHECK(cpu_cached_bytes() == 0);
  const void* first_block = nullptr;
  {
    const Tensor big = zeros({1 << 20});  // 4 MiB: a cached size
    first_block = big.raw_data();
    CHECK(reinterpret_cast<uintptr_t>(first_block) % 64 == 0);
  }
  if (kAddressSanitizer) {
    MESSAGE("skipping the reuse checks: sanitizer builds do not cache, so ASan sees every free");
    CHECK(cpu_cached_bytes() == 0);
    return;
  }
  CHECK(cpu_cached_bytes() >= (size_t{4} << 20));
  {
    const Tensor again = ones({1 << 20});  // same size class: the same block comes back
    CHECK(again.raw_data() == first_block);
    CHECK(cpu_cached_bytes() == 0);
    check_close(again.sum(), scalar_tensor(double(1 << 20)), 0, 0);  // no stale contents
  }
  const Tensor small = zeros({16});  // small blocks are never cached
  CHECK(cpu_cached_bytes() >= (size_t{4} << 20));
  empty_cpu_cache();
  CHECK(cpu_cached_bytes() == 0);
}

namespace {

// With a 4 MiB block cached: blocks not asked for again are freed, reused ones stay.
void check_unused_blocks_are_freed() {
  CHECK(cpu_cached_bytes() >= (size_t{4} << 20));
  // A million and more allocations of another size (one small block, reused each time) without
  // asking for that block again: it is freed, and only the small block stays cached.
  for (int i = 0; i < (1 << 20) + (1 << 13); ++i) (void)empty({4});
  CHECK(cpu_cached_bytes() <= 64);
  // A block that is reused keeps its place.
  { const Tensor big = zeros({1 << 20}); }
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < (1 << 19); ++i) (void)empty({4});
    const Tensor again = zeros({1 << 20});
  }
  CHECK(cpu_cached_bytes() >= (size_t{4} << 20));
}

}  // namespace

TEST_CASE("the CPU block cache gives back blocks that are not reused") {
  empty_cpu_cache();
  { const Tensor big = zeros({1 << 20}); }  // 4 MiB, cached when freed
  if (kAddressSanitizer) {
    MESSAGE("skipping: sanitizer builds do not cache");
  } else {
    check_unused_blocks_are_freed();
  }
  CHECK(memory_stats().cached_bytes == cpu_cached_bytes());
  empty_cpu_cache();
}

TEST_CASE("set_data points every handle at new data and keeps requires_grad") {
  const Tensor p = ones({2, 3}).requires_grad_();
  const Tensor alias = p;  // an optimizer holds handles like this one
  (p * 2.0).sum().backward();
  REQUIRE(p.grad().defined());
  p.set_data(full({3}, 5.0, {kFloat64}));
  CHECK(alias.shape() == Shape{3});
  CHECK(alias.dtype() == kFloat64);
  CHECK(alias.sum().item() == 15.0);
  CHECK(alias.requires_grad());
  CHECK(!alias.grad().defined());
  check_error([&] { p.set_data(Tensor()); }, {"undefined"});
}

TEST_CASE("unbind checks its dim") {
  check_error([] { unbind(ones({2, 3}), 2); }, {"unbind", "2"});
}

TEST_CASE("from_vector: the dtype follows T unless asked, 1-D by default, errors in its name") {
  const Tensor doubles = from_vector(std::vector<double>{0.1, 0.2, 0.3});
  CHECK(doubles.dtype() == kFloat64);
  CHECK(doubles.shape() == Shape{3});
  CHECK(doubles.to_vector<double>()[0] == 0.1);  // not rounded through float32
  CHECK(from_vector(std::vector<double>{1, 2, 3, 4}, {2, 2}, {}).dtype() == kFloat64);
  CHECK(from_vector(std::vector<float>{1, 2}).dtype() == kFloat32);
  CHECK(from_vector(std::vector<int64_t>{1, 2}).dtype() == kInt64);
  const Tensor converted = from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3},
                                       {.dtype = kFloat32, .requires_grad = true});
  CHECK(converted.dtype() == kFloat32);
  CHECK(converted.shape() == Shape{2, 3});
  CHECK(converted.requires_grad());
  check_error(
      [] {
        (void)from_vector(std::vector<double>{1, 2, 3}, {2, 2});
      },
      {"from_vector: shape (2, 2) holds 4 elements, got 3 values"});
  check_error([] { (void)from_vector(std::vector<double>{}, {-1}); }, {"from_vector"});
  // tensor() and int_tensor() keep their own names.
  check_error([] { (void)tensor({1.0, 2.0}, {3}); }, {"tensor: shape (3,) holds 3 elements"});
  check_error([] { (void)int_tensor({1, 2}, {3}); }, {"int_tensor: shape (3,)"});
}

TEST_CASE("Shape keeps its numbers inline and edits like a std::vector") {
  Shape shape{2, 3};
  shape.push_back(4);                  // (2, 3, 4)
  shape.insert(shape.begin(), 1);      // (1, 2, 3, 4)
  shape.insert(shape.begin() + 2, 7);  // (1, 2, 7, 3, 4)
  shape.erase(shape.begin() + 1);      // (1, 7, 3, 4)
  const std::vector<int64_t> tail{5, 6};
  shape.insert(shape.end() - 1, tail.begin(), tail.end());  // (1, 7, 3, 5, 6, 4)
  CHECK(shape == Shape{1, 7, 3, 5, 6, 4});
  CHECK(shape_str(shape) == "(1, 7, 3, 5, 6, 4)");
  shape.erase(shape.begin(), shape.begin() + 2);  // (3, 5, 6, 4)
  CHECK(std::vector<int64_t>(shape) == std::vector<int64_t>{3, 5, 6, 4});
  shape.resize(6, 9);  // (3, 5, 6, 4, 9, 9)
  CHECK(shape.size() == 6);
  CHECK(shape.back() == 9);
  CHECK(Shape(std::vector<int64_t>{8, 8}) == Shape(2, 8));
  CHECK_FALSE(Shape{1, 2} == Shape{1, 2, 3});
  Shape full(Shape::kCapacity, 1);
  check_error([&] { full.push_back(1); }, {"at most 16 numbers", "17"});
  check_error([&] { full.insert(full.begin(), 1); }, {"at most 16 numbers"});
  // A range that does not fit is refused before anything changes, naming its real length.
  Shape some{1, 2, 3};
  const std::vector<int64_t> many(20, 7);
  check_error([&] { some.insert(some.begin() + 1, many.begin(), many.end()); },
              {"at most 16 numbers", "23"});
  CHECK(some == Shape{1, 2, 3});
  check_error([&] { some.assign(many.begin(), many.end()); }, {"at most 16 numbers", "20"});
  CHECK(some == Shape{1, 2, 3});
}
