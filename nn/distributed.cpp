// Data-parallel training over MPI: the job, the collectives, and the bucketed gradient reducer.
// Everything MPI-specific sits behind HEED_WITH_MPI; without it the job is one process.
#include "nn/distributed.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "engine/autograd.hpp"
#include "engine/io/crc32c.hpp"

#ifdef HEED_WITH_MPI
// MPI's C interface only: the deprecated C++ bindings do not compile cleanly under -Werror.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace heed::nn::distributed {

namespace {

struct Job {
  bool initialized = false;
  bool uses_mpi = false;  // MPI_Init ran (the process was started by mpirun)
  int rank = 0, size = 1, local_rank = 0, local_size = 1;
};
Job job;

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The world size a launcher announced in the environment (Open MPI's mpirun, or a PMI-based
// launcher such as srun), 0 when the process was started alone.
int launcher_world_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"}) {
    if (const char* value = std::getenv(name)) return std::atoi(value);
  }
  return 0;
}

// A program that never called init() joins the job at its first distributed call.
void ensure_initialized() {
  if (!job.initialized) init();
}

// A tensor a collective can send from its memory: on the CPU and contiguous.
void check_sendable(const Tensor& t, const char* what) {
  if (!t.defined()) fail("{}: a tensor is undefined", what);
  if (!t.device().is_cpu()) {
    fail(
        "{}: expected CPU tensors, got one on {} (a GPU path would use NCCL; see "
        "docs/distributed.md)",
        what, t.device().str());
  }
  if (!t.is_contiguous()) fail("{}: expected contiguous tensors", what);
  if (t.dtype() == kBool) fail("{}: expected float32, float64 or int64 tensors, got bool", what);
  if (t.numel() > std::numeric_limits<int>::max()) {
    fail("{}: a tensor of {} elements is more than one MPI call sends ({})", what, t.numel(),
         std::numeric_limits<int>::max());
  }
}

#ifdef HEED_WITH_MPI
MPI_Datatype mpi_type(DType dtype) {
  switch (dtype) {
    case DType::Float32:
      return MPI_FLOAT;
    case DType::Float64:
      return MPI_DOUBLE;
    case DType::Int64:
      return MPI_INT64_T;
    case DType::Bool:
      break;
  }
  fail("no MPI type for {}", dtype_name(dtype));
}
#endif

}  // namespace

bool built_with_mpi() {
#ifdef HEED_WITH_MPI
  return true;
#else
  return false;
#endif
}

void init() {
  if (job.initialized) return;
  const int launched = launcher_world_size();
#ifdef HEED_WITH_MPI
  if (launched > 0) {
    // Only the main thread calls MPI (grad-ready hooks run on the thread that called backward).
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &job.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &job.size);
    // The ranks that share this machine's memory: who they are decides the threads per rank.
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, job.rank, MPI_INFO_NULL, &local);
    MPI_Comm_rank(local, &job.local_rank);
    MPI_Comm_size(local, &job.local_size);
    MPI_Comm_free(&local);
    job.uses_mpi = true;
  }
#else
  if (launched > 1) {
    fail(
        "this process is one of {} that a launcher (mpirun) started, but heed was built without "
        "MPI: install libopenmpi-dev and rebuild with meson setup -Dmpi=enabled",
        launched);
  }
#endif
  job.initialized = true;
}

void finalize() {
#ifdef HEED_WITH_MPI
  if (job.uses_mpi) MPI_Finalize();
#endif
  job = Job{};
}

void abort_job(int exit_code) {
#ifdef HEED_WITH_MPI
  if (job.uses_mpi && job.size > 1) MPI_Abort(MPI_COMM_WORLD, exit_code);
#endif
  std::exit(exit_code);
}

int rank() {
  return job.rank;
}
int world_size() {
  return job.size;
}
int local_rank() {
  return job.local_rank;
}
int local_size() {
  return job.local_size;
}
bool started_by_launcher() {
  return job.uses_mpi;
}

void barrier() {
  ensure_initialized();
#ifdef HEED_WITH_MPI
  if (job.uses_mpi) MPI_Barrier(MPI_COMM_WORLD);
#endif
}

void broadcast(const std::vector<Tensor>& tensors, int root) {
  ensure_initialized();
  if (root < 0 || root >= job.size) {
    fail("broadcast: root {} is not a rank of this job of {}", root, job.size);
  }
  for (const Tensor& t : tensors) check_sendable(t, "broadcast");
#ifdef HEED_WITH_MPI
  if (!job.uses_mpi) return;
  for (const Tensor& t : tensors) {
    MPI_Bcast(t.raw_data(), int(t.numel()), mpi_type(t.dtype()), root, MPI_COMM_WORLD);
  }
#endif
}

void allreduce_sum(std::vector<double>& values) {
  ensure_initialized();
#ifdef HEED_WITH_MPI
  if (!job.uses_mpi) return;
  MPI_Allreduce(MPI_IN_PLACE, values.data(), int(values.size()), MPI_DOUBLE, MPI_SUM,
                MPI_COMM_WORLD);
#else
  (void)values;
#endif
}

double allreduce_sum(double value) {
  std::vector<double> values{value};
  allreduce_sum(values);
  return values[0];
}

std::vector<std::string> all_gather(const std::string& bytes) {
  ensure_initialized();
  if (bytes.size() > size_t(std::numeric_limits<int>::max())) {
    fail("all_gather: {} bytes is more than one MPI call sends", bytes.size());
  }
#ifdef HEED_WITH_MPI
  if (job.uses_mpi) {
    const int length = int(bytes.size());
    std::vector<int> lengths(size_t(job.size)), offsets(size_t(job.size));
    MPI_Allgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, MPI_COMM_WORLD);
    int64_t total = 0;
    for (size_t r = 0; r < lengths.size(); ++r) {
      offsets[r] = int(total);
      total += lengths[r];
      if (total > std::numeric_limits<int>::max()) fail("all_gather: more than 2 GiB in all");
    }
    std::string all(size_t(total), '\0');
    MPI_Allgatherv(bytes.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(),
                   MPI_CHAR, MPI_COMM_WORLD);
    std::vector<std::string> pieces;
    for (size_t r = 0; r < lengths.size(); ++r)
      pieces.push_back(all.substr(size_t(offsets[r]), size_t(lengths[r])));
    return pieces;
  }
#endif
  return {bytes};
}

std::pair<int64_t, int64_t> shard(int64_t rows) {
  if (rows < 0) fail("shard: expected a row count of 0 or more, got {}", rows);
  ensure_initialized();
  const int64_t n = job.size, r = job.rank;
  const int64_t base = rows / n, extra = rows % n;  // the first `extra` ranks take one more
  const int64_t begin = r * base + std::min(r, extra);
  return {begin, begin + base + (r < extra ? 1 : 0)};
}

namespace {

// What a check across ranks found: the first rank whose value differs from rank 0's (-1: none),
// with both values. Every rank gets the same answer.
struct Mismatch {
  int rank = -1;
  uint32_t theirs = 0, first = 0;
};

Mismatch compare_with_rank_0(uint32_t value) {
  const std::vector<std::string> all =
      all_gather(std::string(reinterpret_cast<const char*>(&value), sizeof value));
  Mismatch found;
  std::memcpy(&found.first, all[0].data(), sizeof found.first);
  for (size_t r = 1; r < all.size() && found.rank < 0; ++r) {
    if (all[r] != all[0]) {
      found.rank = int(r);
      std::memcpy(&found.theirs, all[r].data(), sizeof found.theirs);
    }
  }
  return found;
}

}  // namespace

void check_replicas_identical(const std::vector<Tensor>& tensors, const std::string& when) {
  ensure_initialized();
  if (job.size == 1) return;  // one replica
  uint32_t checksum = 0;
  for (const Tensor& t : tensors) {
    const Tensor bytes = t.to(kCPU).contiguous();  // the values, wherever they live
    check_sendable(bytes, "check_replicas_identical");
    checksum =
        crc32c(bytes.raw_data(), size_t(bytes.numel()) * element_size(bytes.dtype()), checksum);
  }
  const Mismatch m = compare_with_rank_0(checksum);
  if (m.rank >= 0) {
    fail("the replicas differ {}: rank {}'s {} tensors have checksum {:08x}, rank 0's {:08x}", when,
         m.rank, tensors.size(), m.theirs, m.first);
  }
}

GlobalMean global_mean(const Tensor& local_mean, double local_count) {
  if (local_count < 0) fail("global_mean: expected a count of 0 or more, got {}", local_count);
  if (local_mean.defined() && local_mean.numel() != 1) {
    fail("global_mean: expected a one-element mean, got {} elements", local_mean.numel());
  }
  if (!local_mean.defined() && local_count > 0) {
    fail("global_mean: a rank with {} counted elements passed no mean", local_count);
  }
  ensure_initialized();
  if (job.size == 1) {
    // One process: exactly the loss as it was, whatever the count.
    if (!local_mean.defined()) fail("global_mean: no rank of the job counted any element");
    return {local_mean, local_mean.item(), local_count};
  }
  // sum(mean_r * count_r) and sum(count_r) over ranks, in one allreduce.
  std::vector<double> sums{local_count > 0 ? local_mean.item() * local_count : 0.0, local_count};
  allreduce_sum(sums);
  if (sums[1] == 0) fail("global_mean: no rank of the job counted any element");
  GlobalMean result;
  result.count = sums[1];
  result.value = sums[0] / sums[1];
  if (local_mean.defined()) {
    // d(global mean)/d(theta) = sum_r count_r / total * d(mean_r)/d(theta); the reducer then
    // divides the sum over ranks by N, which the factor N here undoes.
    result.objective = local_mean * (double(job.size) * local_count / result.count);
  }
  return result;
}

// ---- DataParallel ----

// A group of parameters whose gradients travel in one allreduce, through one flat buffer.
struct DataParallel::Bucket {
  DType dtype = kFloat32;
  std::vector<size_t> parameters;  // indices into parameters_
  std::vector<int64_t> offsets;    // where each parameter's gradient starts in `flat`
  int64_t numel = 0;
  Tensor flat;               // (numel,)
  std::vector<bool> filled;  // by slot: this step's gradient is in `flat`
  size_t filled_count = 0;
  bool started = false;
#ifdef HEED_WITH_MPI
  MPI_Request request = MPI_REQUEST_NULL;
#endif
};

namespace {

// Names, shapes and dtypes of a module's parameters and buffers, as one checksum: ranks that
// built different models (other data, another checkpoint) must not exchange bytes.
uint32_t model_signature(const Module& module) {
  std::string text;
  auto add = [&](const std::string& name, const Tensor& t) {
    text += fmt::format("{} {} {};", name, shape_str(t.shape()), dtype_name(t.dtype()));
  };
  for (const auto& [name, p] : module.named_parameters()) add(name, p);
  for (const auto& [name, b] : module.named_buffers()) add(name, b);
  return crc32c(text.data(), text.size());
}

}  // namespace

DataParallel::DataParallel(Module& module, DataParallelOptions options) : options_(options) {
  ensure_initialized();
  if (options.bucket_bytes < 1 || options.first_bucket_bytes < 1) {
    fail("DataParallel: bucket_bytes and first_bucket_bytes must be at least 1, got {} and {}",
         options.bucket_bytes, options.first_bucket_bytes);
  }
  if (job.size == 1) return;  // one process: nothing to send, and gradients stay as they are
  const Mismatch m = compare_with_rank_0(model_signature(module));
  if (m.rank >= 0) {
    fail(
        "DataParallel: rank {} built a different model from rank 0's (parameter or buffer "
        "names, shapes or dtypes differ): every rank must build it from the same flags, data "
        "and checkpoint",
        m.rank);
  }
  std::vector<Tensor> state = module.parameters();
  for (const auto& [name, buffer] : module.named_buffers()) state.push_back(buffer);
  broadcast(state, 0);  // every replica starts from rank 0's values
  // Frozen parameters get no gradient: only the others travel.
  all_parameters_ = module.parameters();
  for (const Tensor& p : all_parameters_) {
    if (p.requires_grad()) parameters_.push_back(p);
  }
  used_.assign(parameters_.size(), 0.0);

  // Buckets in reverse registration order: backward finishes the last layers first, so the
  // first bucket fills first and its allreduce overlaps the rest of backward.
  bucket_of_.assign(parameters_.size(), nullptr);
  slot_of_.assign(parameters_.size(), 0);
  for (size_t i = parameters_.size(); i-- > 0;) {
    const Tensor& p = parameters_[i];
    check_sendable(p, "DataParallel");
    const int64_t bytes = p.numel() * int64_t(element_size(p.dtype()));
    Bucket* open = buckets_.empty() ? nullptr : buckets_.back().get();
    const int64_t limit = buckets_.size() == 1 ? options.first_bucket_bytes : options.bucket_bytes;
    if (open == nullptr || open->dtype != p.dtype() ||
        open->numel * int64_t(element_size(open->dtype)) + bytes > limit) {
      buckets_.push_back(std::make_unique<Bucket>());
      open = buckets_.back().get();
      open->dtype = p.dtype();
    }
    bucket_of_[i] = open;
    slot_of_[i] = open->parameters.size();
    open->parameters.push_back(i);
    open->offsets.push_back(open->numel);
    open->filled.push_back(false);
    open->numel += p.numel();
  }
  for (auto& bucket : buckets_) {
    if (bucket->numel > std::numeric_limits<int>::max()) {
      fail(
          "DataParallel: a bucket of {} elements is more than one allreduce sends; lower "
          "bucket_bytes",
          bucket->numel);
    }
    bucket->flat = zeros({bucket->numel}, {bucket->dtype});  // (numel,)
  }
  for (size_t i = 0; i < parameters_.size(); ++i) {
    hook_ids_.push_back(
        add_grad_ready_hook(parameters_[i], [this, i](const Tensor&) { gradient_ready(i); }));
  }
}

DataParallel::~DataParallel() {
  for (size_t i = 0; i < hook_ids_.size(); ++i)
    remove_grad_ready_hook(parameters_[i], hook_ids_[i]);
#ifdef HEED_WITH_MPI
  // A step abandoned by an error: its allreduces must finish before their buffers go.
  for (auto& bucket : buckets_) {
    if (bucket->request != MPI_REQUEST_NULL) MPI_Wait(&bucket->request, MPI_STATUS_IGNORE);
  }
#endif
}

// Puts parameter i's gradient (zeros when it has none) into its bucket's slot.
void DataParallel::fill_slot(size_t i) {
  Bucket& bucket = *bucket_of_[i];
  const size_t slot = slot_of_[i];
  const Tensor& p = parameters_[i];
  Tensor destination = bucket.flat.narrow(0, bucket.offsets[slot], p.numel());  // (numel_p,)
  const Tensor grad = p.grad();
  if (grad.defined()) {
    destination.copy_(grad.reshape({-1}));
  } else {
    destination.fill_(0.0);
  }
  used_[i] = grad.defined() ? 1.0 : 0.0;
  bucket.filled[slot] = true;
  ++bucket.filled_count;
}

// A gradient is final: into its bucket, and a full bucket starts its allreduce.
void DataParallel::gradient_ready(size_t parameter) {
  if (!syncing_) return;
  const auto start = Clock::now();
  if (bucket_of_[parameter]->filled[slot_of_[parameter]]) {
    fail(
        "DataParallel: the gradient of parameter {} became final twice before "
        "synchronize_gradients(): call it after every backward, or accumulate inside no_sync()",
        parameter);
  }
  fill_slot(parameter);
  if (options_.overlap) start_ready_buckets();
#ifdef HEED_WITH_MPI
  // MPI moves a nonblocking collective forward only inside MPI calls: test the ones in flight.
  for (auto& b : buckets_) {
    if (b->request != MPI_REQUEST_NULL) {
      int done = 0;
      MPI_Test(&b->request, &done, MPI_STATUS_IGNORE);
    }
  }
#endif
  stats_.hook_seconds += seconds_since(start);
}

// Starts, in bucket order, every bucket whose gradients are all in. The order is the same on
// every rank, as MPI requires of collectives, even when ranks finish buckets in other orders.
void DataParallel::start_ready_buckets() {
  while (next_to_start_ < buckets_.size() &&
         buckets_[next_to_start_]->filled_count == buckets_[next_to_start_]->parameters.size()) {
    Bucket& bucket = *buckets_[next_to_start_++];
    bucket.started = true;
    stats_.bytes += bucket.numel * int64_t(element_size(bucket.dtype));
#ifdef HEED_WITH_MPI
    MPI_Iallreduce(MPI_IN_PLACE, bucket.flat.raw_data(), int(bucket.numel), mpi_type(bucket.dtype),
                   MPI_SUM, MPI_COMM_WORLD, &bucket.request);
#endif
  }
}

void DataParallel::synchronize_gradients() {
  if (job.size == 1 || !syncing_) return;
  const auto start = Clock::now();
  // The parameters that travel were fixed at construction: one frozen or unfrozen since would
  // leave the ranks' buckets or optimizers disagreeing.
  const auto trainable = std::count_if(all_parameters_.begin(), all_parameters_.end(),
                                       [](const Tensor& p) { return p.requires_grad(); });
  if (size_t(trainable) != parameters_.size() ||
      std::any_of(parameters_.begin(), parameters_.end(),
                  [](const Tensor& p) { return !p.requires_grad(); })) {
    fail(
        "DataParallel: parameters were frozen or unfrozen after it was built; build it again "
        "after changing requires_grad");
  }
  const size_t started_in_backward = next_to_start_;
  // Slots still empty belong to parameters this rank's backward did not reach (or there was no
  // backward, on a rank without rows): filled from .grad as it is now, zeros where there is none.
  NoGradGuard no_grad;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    if (!bucket_of_[i]->filled[slot_of_[i]]) fill_slot(i);
  }
  start_ready_buckets();
  stats_.buckets_in_backward += int64_t(started_in_backward);
  stats_.buckets_at_sync += int64_t(buckets_.size() - started_in_backward);
  // Which parameters any rank's backward gave a gradient, beside the buckets: a parameter no
  // rank used keeps no gradient, so the optimizer skips it as it would in one process.
  std::vector<double> used_anywhere = used_;
  allreduce_sum(used_anywhere);

  const auto wait_start = Clock::now();
#ifdef HEED_WITH_MPI
  for (auto& bucket : buckets_) MPI_Wait(&bucket->request, MPI_STATUS_IGNORE);
#endif
  stats_.wait_seconds += seconds_since(wait_start);

  // The average over ranks, into .grad as views of one new tensor per bucket (never of the
  // bucket itself, which the next step overwrites).
  for (auto& bucket : buckets_) {
    const Tensor average = bucket->flat * (1.0 / double(job.size));  // (numel,)
    for (size_t slot = 0; slot < bucket->parameters.size(); ++slot) {
      const size_t i = bucket->parameters[slot];
      const Tensor& p = parameters_[i];
      if (used_anywhere[i] > 0) {
        p.set_grad(average.narrow(0, bucket->offsets[slot], p.numel()).view(p.shape()));
      }
      bucket->filled[slot] = false;
    }
    bucket->filled_count = 0;
    bucket->started = false;
  }
  std::fill(used_.begin(), used_.end(), 0.0);
  next_to_start_ = 0;
  ++stats_.steps;
  stats_.sync_seconds += seconds_since(start);
}

}  // namespace heed::nn::distributed
