// Data-parallel training over MPI, in the style of PyTorch's DistributedDataParallel.
//
// N processes (ranks) each hold the whole model. Every step each rank runs forward and backward
// on its own 1/N of the global batch; the gradients are then averaged across ranks, so every
// rank applies the same update and the replicas stay identical. Averaging gradients of equal
// shares is the gradient of the whole batch's mean loss: the model trains as one process would
// on the global batch. docs/distributed.md explains it from first principles.
//
// DataParallel starts averaging while backward is still running: parameters are grouped into
// buckets (reverse registration order, the order backward finishes them), and a bucket's
// MPI_Iallreduce starts the moment the engine's grad-ready hooks say its last gradient is final.
//
// Built with Open MPI (-Dmpi=auto|enabled). In a build without it, or in a process started
// without mpirun, this is a job of one process: every call below is then a no-op or the
// identity, and a process that mpirun started in a build without MPI is told so by init().
// The engine never sees MPI: all of it lives in distributed.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nn/module.hpp"

namespace heed::nn::distributed {

// Whether this heed was built with MPI.
bool built_with_mpi();

// Joins the job. Under mpirun (its environment names the world size) this initialises MPI and
// finds this process's rank; started alone, the job is this one process and MPI is not touched.
// Under mpirun in a build without MPI, a heed::Error says so. Calling it again does nothing; the
// collectives, shard, global_mean and DataParallel run it for a program that did not.
void init();
// Leaves the job cleanly (MPI_Finalize); every rank calls it once at the end.
void finalize();
// Ends every process of the job at once with `exit_code` (MPI_Abort): what a rank does after an
// error, so that the others never wait for it. In a job of one process: std::exit.
[[noreturn]] void abort_job(int exit_code);

int rank();        // 0 .. world_size() - 1 (0 before init: call init() first under mpirun)
int world_size();  // 1 before init and outside mpirun
int local_rank();  // among the ranks on this machine
int local_size();  // how many ranks share this machine
// Whether a launcher (mpirun) started this process, even as a job of one rank.
bool started_by_launcher();
inline bool is_main_process() {
  return rank() == 0;
}

// Collectives. Every rank must make the same calls in the same order.
void barrier();
// Overwrites each tensor (CPU, contiguous, float32/float64/int64) with root's values.
void broadcast(const std::vector<Tensor>& tensors, int root = 0);
// Element-wise sums over all ranks, in place.
void allreduce_sum(std::vector<double>& values);
double allreduce_sum(double value);
// Every rank's string, in rank order, on every rank.
std::vector<std::string> all_gather(const std::string& bytes);
// The rows [begin, end) of `rows` that this rank holds when they are split as evenly as
// possible, the first ranks taking one more when N does not divide them.
std::pair<int64_t, int64_t> shard(int64_t rows);
// Checks that every rank holds exactly the same values (a checksum of the bytes is compared);
// a heed::Error names the first rank that differs and `when` ("at step 100").
void check_replicas_identical(const std::vector<Tensor>& tensors, const std::string& when);

// The mean loss of a global batch split across ranks. Each rank passes the mean over its own
// counted elements (tokens that are not ignored) and their count; ranks may hold different
// counts, so the global mean is sum(mean_r * count_r) / sum(count_r), not the mean of means.
// `objective` is what this rank calls backward on: its mean scaled by N * count_r / total, so
// that DataParallel's average over ranks gives exactly the gradient of the global mean. A rank
// holding no rows passes an undefined tensor and a count of 0 (and calls no backward).
struct GlobalMean {
  Tensor objective;  // undefined when local_mean was
  double value = 0;  // the global batch's mean loss, the same on every rank
  double count = 0;  // the global batch's counted elements
};
GlobalMean global_mean(const Tensor& local_mean, double local_count);

struct DataParallelOptions {
  // Smaller than DDP's 25 MiB: MPI moves a nonblocking allreduce forward only inside MPI calls
  // (the hooks), so a large bucket stalls between them, and the last bucket, which cannot start
  // before backward ends, should be small. On the GPT example's medium preset, 4 MiB buckets
  // hid 75-98% of a rank's wait for the allreduces behind backward, 25 MiB ones about 10%
  // (docs/performance.md).
  int64_t bucket_bytes = 4 << 20;
  // The first bucket is smaller still (as DDP's 1 MiB): the last layers' gradients start
  // travelling at once.
  int64_t first_bucket_bytes = 1 << 20;
  // false: every allreduce waits until synchronize_gradients() (for measuring the overlap).
  bool overlap = true;
};

// What the communication cost, summed since construction (or reset_stats()).
struct CommunicationStats {
  int64_t steps = 0;                // synchronize_gradients() calls that reduced
  int64_t bytes = 0;                // gradient bytes sent into allreduces by this rank
  int64_t buckets_in_backward = 0;  // buckets whose allreduce started during backward
  int64_t buckets_at_sync = 0;      // buckets started only in synchronize_gradients()
  double wait_seconds = 0;          // time synchronize_gradients() spent waiting for allreduces
  double sync_seconds = 0;          // all of synchronize_gradients() (waiting, averaging)
  double hook_seconds = 0;          // time the grad-ready hooks took (copies, starting allreduces)
};

class DataParallel {
 public:
  // Checks that every rank built the same model (names, shapes, dtypes), broadcasts its
  // parameters and buffers from rank 0, so every replica starts equal, and registers a
  // grad-ready hook on each parameter that requires grad (in a job of one process: none of
  // this). The module must outlive this object and keep its parameters: build it after
  // Module::to and after loading a checkpoint.
  explicit DataParallel(Module& module, DataParallelOptions options = {});
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  // After backward, before clipping and the optimizer: waits for every bucket (starting those
  // whose gradients never became ready; a rank whose backward did not reach a parameter adds
  // zeros) and leaves in each parameter's .grad the average over ranks, identical on every rank.
  // A parameter no rank gave a gradient keeps none, so the optimizer skips it.
  void synchronize_gradients();

  // Gradient accumulation: while a NoSync is alive, backward passes only accumulate locally and
  // synchronize_gradients() does nothing; the first backward after it ends reduces the sum.
  class NoSync {
   public:
    explicit NoSync(DataParallel& owner) : owner_(owner), previous_(owner.syncing_) {
      owner_.syncing_ = false;
    }
    ~NoSync() { owner_.syncing_ = previous_; }
    NoSync(const NoSync&) = delete;
    NoSync& operator=(const NoSync&) = delete;

   private:
    DataParallel& owner_;
    bool previous_;
  };
  [[nodiscard]] NoSync no_sync() { return NoSync(*this); }

  int64_t bucket_count() const { return int64_t(buckets_.size()); }
  const CommunicationStats& stats() const { return stats_; }
  void reset_stats() { stats_ = {}; }

  struct Bucket;  // distributed.cpp

 private:
  void gradient_ready(size_t parameter);
  void fill_slot(size_t parameter);
  void start_ready_buckets();

  std::vector<Tensor> all_parameters_;  // the module's, frozen ones included
  std::vector<Tensor> parameters_;      // those that require grad: these travel
  std::vector<uint64_t> hook_ids_;
  std::vector<Bucket*> bucket_of_;  // by parameter index
  std::vector<size_t> slot_of_;     // by parameter index: its place in its bucket
  std::vector<double> used_;        // by parameter index: 1 when this step gave it a gradient
  std::vector<std::unique_ptr<Bucket>> buckets_;
  size_t next_to_start_ = 0;  // buckets start strictly in order, the same on every rank
  DataParallelOptions options_;
  bool syncing_ = true;
  CommunicationStats stats_;
};

}  // namespace heed::nn::distributed
