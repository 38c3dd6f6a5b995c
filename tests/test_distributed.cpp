// nn/distributed: the collectives and DataParallel's reducer. Runs as one process (the job of one
// every build has) and, where Open MPI is installed, under `mpirun -np 2` (run_mpi.sh): every
// case holds for any world size, checking the reduced gradients against the whole batch's
// gradient computed on each rank alone. Checks that fail use CHECK, never REQUIRE: a rank that
// left a case early would skip its collectives and leave the others waiting.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "nn/nn.hpp"
#include "tests/helpers.hpp"

using namespace heed;
using namespace heed::testing;
namespace distributed = heed::nn::distributed;

namespace {

// The global batch: row i of the inputs and target depend on i only, so every rank can compute
// the whole batch's gradient by itself and compare it with the reduced one.
Tensor global_inputs(int64_t rows) {
  return sin(arange(0, double(rows * 3), 1, {kFloat64}).reshape({rows, 3}));  // (rows, 3)
}
Tensor global_targets(int64_t rows) {
  return cos(arange(0, double(rows * 2), 1, {kFloat64}).reshape({rows, 2}));  // (rows, 2)
}

struct TwoLayers : nn::Module {
  TwoLayers() : nn::Module("TwoLayers") {
    first = register_module("first", std::make_shared<nn::Linear>(3, 4, true, kFloat64));
    second = register_module("second", std::make_shared<nn::Linear>(4, 2, true, kFloat64));
  }
  Tensor forward(const Tensor& x) { return second->forward(first->forward(x).tanh()); }
  std::shared_ptr<nn::Linear> first, second;
};

// Mean squared error over the rows [begin, end) of the global batch.
Tensor local_mean_loss(TwoLayers& model, int64_t begin, int64_t end, int64_t rows) {
  const Tensor x = global_inputs(rows).narrow(0, begin, end - begin);   // (b, 3)
  const Tensor y = global_targets(rows).narrow(0, begin, end - begin);  // (b, 2)
  const Tensor error = model.forward(x) - y;                            // (b, 2)
  return (error * error).mean();
}

// Each parameter's gradient of the whole batch's mean loss, computed on this rank alone (the
// reducer's hooks idle meanwhile).
std::vector<Tensor> whole_batch_gradients(TwoLayers& model, distributed::DataParallel& reducer,
                                          int64_t rows) {
  const auto local_only = reducer.no_sync();
  model.zero_grad();
  local_mean_loss(model, 0, rows, rows).backward();
  std::vector<Tensor> grads;
  for (const Tensor& p : model.parameters()) grads.push_back(p.grad().clone());
  model.zero_grad();
  return grads;
}

void check_gradients_equal(TwoLayers& model, const std::vector<Tensor>& expected) {
  const std::vector<Tensor> params = model.parameters();
  CHECK(params.size() == expected.size());
  for (size_t i = 0; i < std::min(params.size(), expected.size()); ++i) {
    CHECK(params[i].grad().defined());
    if (params[i].grad().defined()) check_close(params[i].grad(), expected[i], 1e-12, 1e-10);
  }
}

// One data-parallel step on this rank's shard of `rows` rows; returns the global mean loss.
double data_parallel_step(TwoLayers& model, distributed::DataParallel& reducer, int64_t rows) {
  const auto [begin, end] = distributed::shard(rows);
  model.zero_grad();
  Tensor local;  // stays undefined on a rank that holds no rows
  if (end > begin) local = local_mean_loss(model, begin, end, rows);
  // Mean squared error counts 2 elements a row.
  const distributed::GlobalMean loss = distributed::global_mean(local, double(2 * (end - begin)));
  if (loss.objective.defined()) loss.objective.backward();
  reducer.synchronize_gradients();
  return loss.value;
}

}  // namespace

TEST_CASE("the job: ranks, shards and collectives") {
  const int n = distributed::world_size(), r = distributed::rank();
  CHECK(r < n);
  CHECK(distributed::local_rank() < distributed::local_size());
  // Shards cover every row once, in rank order, the first ranks taking one more.
  for (int64_t rows : {0, 1, 5, 64}) {
    const auto [begin, end] = distributed::shard(rows);
    const std::vector<std::string> all = distributed::all_gather(fmt::format("{} {}", begin, end));
    int64_t next = 0;
    for (const std::string& piece : all) {
      int64_t b = 0, e = 0;
      CHECK(std::sscanf(piece.c_str(), "%ld %ld", &b, &e) == 2);
      CHECK(b == next);
      CHECK(e - b >= rows / n);
      CHECK(e - b <= rows / n + 1);
      next = e;
    }
    CHECK(next == rows);
  }
  CHECK(distributed::allreduce_sum(double(r + 1)) == doctest::Approx(n * (n + 1) / 2.0));
  // Rank 0's values replace everyone's.
  Tensor values = full({3}, double(r + 10), {kFloat64});
  Tensor counts = full({2}, double(r), {kInt64});
  distributed::broadcast({values, counts});
  check_values(values, {10, 10, 10});
  CHECK(counts.to_vector<int64_t>() == std::vector<int64_t>{0, 0});
  CHECK_THROWS_WITH_AS(distributed::broadcast({values}, n), doctest::Contains("is not a rank"),
                       Error);
  CHECK_THROWS_WITH_AS(distributed::broadcast({values.view({3, 1}).expand({3, 2})}),
                       doctest::Contains("expected contiguous tensors"), Error);
  CHECK_THROWS_WITH_AS(distributed::broadcast({gt(values, values)}), doctest::Contains("got bool"),
                       Error);
}

TEST_CASE("global_mean weighs each rank by its count, not as a mean of means") {
  const int n = distributed::world_size(), r = distributed::rank();
  // Rank r holds r + 1 elements, each of value r: the global mean is sum r(r+1) / sum (r+1).
  const Tensor local = full({}, double(r), {kFloat64, kCPU, true});
  const distributed::GlobalMean loss = distributed::global_mean(local, double(r + 1));
  double sum = 0, count = 0;
  for (int k = 0; k < n; ++k) sum += double(k * (k + 1)), count += k + 1;
  CHECK(loss.value == doctest::Approx(sum / count));
  CHECK(loss.count == count);
  loss.objective.backward();
  // The reducer divides by n; the objective's gradient undoes it: n (r + 1) / count.
  CHECK(local.grad().item() == doctest::Approx(n * (r + 1) / count));
  CHECK_THROWS_WITH_AS(distributed::global_mean(Tensor(), 3), doctest::Contains("passed no mean"),
                       Error);
  CHECK_THROWS_WITH_AS(distributed::global_mean(local, -1), doctest::Contains("a count of 0"),
                       Error);
  CHECK_THROWS_WITH_AS(distributed::global_mean(Tensor(), 0),
                       doctest::Contains("no rank of the job counted any element"), Error);
}

TEST_CASE("DataParallel gives every rank the whole batch's gradient, in any bucket size") {
  const int64_t rows = 7;  // not a multiple of 2: the ranks hold different counts
  for (int64_t bucket_bytes : {int64_t(1), int64_t(128), int64_t(25) << 20}) {
    for (bool overlap : {true, false}) {
      CAPTURE(bucket_bytes);
      CAPTURE(overlap);
      manual_seed(distributed::rank() + 1);  // different on every rank: the broadcast must fix it
      TwoLayers model;
      distributed::DataParallel reducer(
          model,
          {.bucket_bytes = bucket_bytes, .first_bucket_bytes = bucket_bytes, .overlap = overlap});
      distributed::check_replicas_identical(model.parameters(), "after construction");
      const std::vector<Tensor> expected = whole_batch_gradients(model, reducer, rows);
      const double loss = data_parallel_step(model, reducer, rows);
      check_gradients_equal(model, expected);
      CHECK(loss == doctest::Approx(local_mean_loss(model, 0, rows, rows).item()));
      if (distributed::world_size() > 1) {
        // Filled from the last parameter back: 16 + 64 + 32 bytes, then the first weight's 96.
        const int64_t expected_buckets = bucket_bytes == 1 ? 4 : bucket_bytes == 128 ? 2 : 1;
        CHECK(reducer.bucket_count() == expected_buckets);
        CHECK(reducer.stats().steps == 1);
        const int64_t in_backward = reducer.stats().buckets_in_backward;
        CHECK(in_backward == (overlap ? reducer.bucket_count() : 0));
        CHECK(reducer.stats().bytes == 8 * model.num_parameters());
      } else {
        CHECK(reducer.bucket_count() == 0);  // one process: nothing to reduce
      }
    }
  }
}

TEST_CASE("a rank without rows still takes part, and no_sync accumulates before reducing") {
  manual_seed(7);
  TwoLayers model;
  distributed::DataParallel reducer(model, {.bucket_bytes = 64, .first_bucket_bytes = 64});
  // One row for the whole job: every other rank holds none and runs no backward.
  const std::vector<Tensor> one_row = whole_batch_gradients(model, reducer, 1);
  data_parallel_step(model, reducer, 1);
  check_gradients_equal(model, one_row);

  // Two micro-batches of the same rows, accumulated under no_sync, then reduced once: twice the
  // gradient of one.
  const int64_t rows = 6;
  const std::vector<Tensor> expected = whole_batch_gradients(model, reducer, rows);
  model.zero_grad();
  const auto [begin, end] = distributed::shard(rows);
  const double count = double(2 * (end - begin));
  {
    auto no_sync = reducer.no_sync();
    Tensor local;
    if (end > begin) local = local_mean_loss(model, begin, end, rows);
    const distributed::GlobalMean first = distributed::global_mean(local, count);
    if (first.objective.defined()) first.objective.backward();
    reducer.synchronize_gradients();  // does nothing inside no_sync
  }
  Tensor local;
  if (end > begin) local = local_mean_loss(model, begin, end, rows);
  const distributed::GlobalMean second = distributed::global_mean(local, count);
  if (second.objective.defined()) second.objective.backward();
  reducer.synchronize_gradients();
  std::vector<Tensor> doubled;
  for (const Tensor& g : expected) doubled.push_back(g * 2.0);
  check_gradients_equal(model, doubled);
  distributed::check_replicas_identical(model.parameters(), "after no_sync");
}

TEST_CASE("a parameter no rank used keeps no gradient; one some ranks used gets their average") {
  manual_seed(5);
  TwoLayers model;
  distributed::DataParallel reducer(model, {.bucket_bytes = 64, .first_bucket_bytes = 64});
  const int n = distributed::world_size(), r = distributed::rank();
  model.zero_grad();
  // Only the last rank uses the second layer's bias (with gradient 1 for each of its 2 outputs,
  // as a loss of bias.sum() has); nobody uses the first layer's weight.
  const Tensor used_by_last = r == n - 1 ? model.second->bias.sum() : Tensor();
  const Tensor everyone = model.second->weight.sum() * double(r + 1);  // d/dw = r + 1
  const Tensor local = used_by_last.defined() ? everyone + used_by_last : everyone;
  local.backward();
  reducer.synchronize_gradients();
  if (n > 1) {
    CHECK_FALSE(model.first->weight.grad().defined());  // no rank used it: the optimizer skips it
    check_values(model.second->bias.grad(), {1.0 / n, 1.0 / n});  // (0 + ... + 1) / n
    const double mean_factor = (n + 1) / 2.0;                     // mean of r + 1 over ranks
    check_close(model.second->weight.grad(), full({2, 4}, mean_factor, {kFloat64}));
  }

  // Freezing a parameter after the reducer was built is an error at the next synchronization.
  model.second->bias.requires_grad_(false);
  model.zero_grad();
  model.second->weight.sum().backward();
  if (n > 1) {
    CHECK_THROWS_WITH_AS(reducer.synchronize_gradients(),
                         doctest::Contains("frozen or unfrozen after it was built"), Error);
  }
  model.second->bias.requires_grad_(true);
  reducer.synchronize_gradients();  // every rank's buckets complete
}

TEST_CASE("DataParallel's errors: a second backward before synchronizing, replicas that differ") {
  manual_seed(3);
  TwoLayers model;
  distributed::DataParallel reducer(model);
  if (distributed::world_size() > 1) {
    const Tensor x = global_inputs(2);  // (2, 3)
    model.forward(x).sum().backward();
    CHECK_THROWS_WITH_AS(model.forward(x).sum().backward(),
                         doctest::Contains("became final twice before synchronize_gradients()"),
                         Error);
    reducer.synchronize_gradients();  // the first pass's allreduce completes on every rank
  }
  // One rank nudges one weight: every rank learns which rank differs.
  if (distributed::rank() == distributed::world_size() - 1 && distributed::world_size() > 1) {
    NoGradGuard no_grad;
    model.first->weight.narrow(0, 0, 1).fill_(0.5);
  }
  if (distributed::world_size() > 1) {
    CHECK_THROWS_WITH_AS(
        distributed::check_replicas_identical(model.parameters(), "at step 3"),
        doctest::Contains(fmt::format("the replicas differ at step 3: rank {}'s 4 tensors",
                                      distributed::world_size() - 1)
                              .c_str()),
        Error);
  } else {
    distributed::check_replicas_identical(model.parameters(), "at step 3");
  }
  if (distributed::world_size() > 1) {
    // A small first bucket (the last bias, 16 bytes) and the rest in one.
    const distributed::DataParallel small_first(model, {.first_bucket_bytes = 16});
    CHECK(small_first.bucket_count() == 2);
    // A frozen parameter takes no part: the first layer's two are left out.
    model.first->weight.requires_grad_(false);
    model.first->bias.requires_grad_(false);
    const distributed::DataParallel frozen(model, {.first_bucket_bytes = 16});
    CHECK(frozen.bucket_count() == 2);  // 16 bytes, then 64
    model.first->weight.requires_grad_(true);
    model.first->bias.requires_grad_(true);
  }
  CHECK_THROWS_WITH_AS(distributed::DataParallel(model, {.bucket_bytes = 0}),
                       doctest::Contains("bucket_bytes and first_bucket_bytes must be at least 1"),
                       Error);
}

int main(int argc, char** argv) {
  distributed::init();
  doctest::Context context(argc, argv);
  const int failed = context.run();
  // A summary per rank; a failure on any rank fails the job.
  const double failures = distributed::allreduce_sum(failed != 0 ? 1.0 : 0.0);
  if (distributed::rank() == 0) {
    fmt::print("test_distributed: {} rank{} of {} built {} MPI, {} failed\n",
               distributed::world_size(), distributed::world_size() == 1 ? "" : "s",
               distributed::world_size(), distributed::built_with_mpi() ? "with" : "without",
               failures);
  }
  distributed::finalize();
  return failures > 0 ? 1 : 0;
}
