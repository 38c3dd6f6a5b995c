// index_select, gather and embedding, with their scatter-add backwards, and padding_idx.
#include "tests/helpers.hpp"

using namespace heed;
using namespace heed::testing;

TEST_CASE("index_select, gather and embedding, with scatter-add backwards") {
  const Tensor x = tensor({{1, 2, 3}, {4, 5, 6}}, {kFloat64});
  check_values(index_select(x, 1, int_tensor({2, 0, 2})), {3, 1, 3, 6, 4, 6});
  check_values(index_select(x, 0, int_tensor({1})), {4, 5, 6});
  check_values(gather(x, 1, int_tensor({2, 2, 0, 1}, {2, 2})), {3, 3, 4, 5});
  const Tensor table = tensor({{0, 0}, {1, 1}, {2, 2}}, {kFloat64});
  const Tensor looked_up = embedding(table, int_tensor({2, 0, 2, 1}, {2, 2}));
  CHECK(looked_up.shape() == Shape{2, 2, 2});
  check_values(looked_up, {2, 2, 0, 0, 2, 2, 1, 1});
  // repeated ids sum their gradients
  Tensor weight = random64({3, 2}, 141).requires_grad_();
  embedding(weight, int_tensor({2, 2, 0})).sum().backward();
  check_values(weight.grad(), {1, 1, 0, 0, 2, 2});
  check_gradients(
      [](const auto& in) {
        return index_select(in[0], 1, int_tensor({1, 1, 0}));
      },
      {random64({2, 3, 2}, 142)});
  check_gradients(
      [](const auto& in) {
        return gather(in[0], 0, int_tensor({1, 0, 1, 1, 0, 0}, {2, 3}));
      },
      {random64({2, 3}, 143)});
  check_gradients(
      [](const auto& in) {
        return embedding(in[0], int_tensor({3, 1, 3}));
      },
      {random64({4, 2}, 144)});
  check_error([&] { embedding(table, int_tensor({3})); }, {"embedding", "token id 3", "3 rows"});
  check_error([&] { embedding(table, int_tensor({-1})); }, {"embedding", "-1"});
  check_error([&] { index_select(x, 1, int_tensor({3})); }, {"index_select", "index 3", "size 3"});
  check_error([&] { gather(x, 1, int_tensor({0}, {1, 1})); }, {"gather", "(1, 1)", "(2, 3)"});
  check_error([&] { embedding(table, tensor({1.0})); }, {"embedding", "int64"});
}

TEST_CASE("embedding with padding_idx: forward, gradcheck, no gradient into the padding row") {
  const Tensor ids = int_tensor({2, 0, 1, 0, 2}, {5});
  // The padding row's gradient is 0 by definition (its lookups are treated as constants), so
  // finite differences apply to the other rows: ids without the padding id, through the same
  // masked backward path.
  const Tensor no_padding = int_tensor({2, 0, 2, 0}, {4});
  check_gradients([&](const std::vector<Tensor>& in) { return embedding(in[0], no_padding, 1); },
                  {random64({3, 4}, 31)});
  const Tensor weight = random64({3, 4}, 32).requires_grad_();
  const Tensor out = embedding(weight, ids.reshape({5, 1}), 0);  // (5, 1, 4)
  CHECK(out.shape() == Shape{5, 1, 4});
  check_close(out.select(0, 3).squeeze(0), weight.select(0, 0), 0, 0);  // forward still looks up
  out.sum().backward();
  check_values(weight.grad().select(0, 0), {0, 0, 0, 0});
  check_values(weight.grad().select(0, 2), {2, 2, 2, 2});
  check_error([&] { embedding(weight, int_tensor({3})); }, {"embedding", "token id 3", "3 rows"});
}
