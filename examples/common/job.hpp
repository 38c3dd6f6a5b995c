// An example run as one rank of a data-parallel job (`mpirun -np N gpt train ...`): the examples'
// side of nn/distributed. Started alone, every function here behaves as for one process.
#pragma once

#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/generator.hpp"
#include "examples/common/flags.hpp"

namespace examples {

// Joins the job (nn::distributed::init), before the command line is parsed. Ranks other than 0
// send stdout to /dev/null, so rank 0 alone prints help, progress and results (errors go to
// stderr from every rank). Checks HEED_INJECT_FAULT (below).
void join_job();

// --threads N, or else (unless HEED_NUM_THREADS says) in a job a machine's cores shared among
// the ranks it runs.
void set_threads(const GlobalOptions& global);

// The checks every training example makes once its data and batch are known: `batch_size` (the
// global batch; `whose` says where it came from, "" or " (the checkpoint's)") must split evenly
// among the ranks, and every rank must have read the same training data (`data`: its token ids).
void check_global_batch(int64_t batch_size, const std::string& whose);
void check_same_data(const std::vector<heed::Tensor>& data);

// Leaves the job cleanly at the end of a run.
void leave_job();

// The examples' one-line error: "gpt: message" alone, "gpt: rank 1 of 2: message" in a job of
// several, which then ends on every rank at once (nobody waits for a rank that failed). Ranks
// other than 0 wait half a second first, so that an error every rank meets (a bad flag, a
// diverging loss) is printed once, by rank 0, whose abort ends them. Returns the exit status,
// 2, when the process is alone.
int report_error(const std::string& program, const std::string& message);

// Fault injection for the tests of a job's failure: HEED_INJECT_FAULT=RANK:STEP:KIND makes rank
// RANK, on reaching optimizer step STEP, throw a heed::Error (KIND error) or die at once from
// SIGKILL (KIND kill), as a crashed machine would. Does nothing without the variable; a value
// of another form, another KIND or a RANK outside the job is an error when the job starts.
void inject_fault_if_asked(int64_t step);

// Dropout on this rank's own random stream for the length of a step. Every rank draws the batches
// (and the data order) from the job's common stream, the default generator, which must stay the
// same on every rank; dropout draws as many numbers as a rank has rows, and each rank should
// drop other units. In the scope, the default generator is a stream of this rank and this step
// only (seeded from seed, step and rank, so --resume draws the same masks); at its end the
// common stream is back, untouched. In a job of one process it does nothing: one process draws
// exactly as it always has.
class RankDropoutStream {
 public:
  RankDropoutStream(uint64_t seed, int64_t step);
  ~RankDropoutStream();
  RankDropoutStream(const RankDropoutStream&) = delete;
  RankDropoutStream& operator=(const RankDropoutStream&) = delete;

 private:
  std::optional<heed::Generator> common_;
};

// --metrics FILE: one JSON object per line for every optimizer step (step, loss, lr, grad_norm,
// tokens, seconds), written by rank 0 only. A run resumed at step N keeps the file's records of
// steps 1 to N (those of an interrupted run after its last checkpoint are dropped) and appends.
class MetricsLog {
 public:
  // "" or a rank other than 0: writes nothing. resumed_at: the step a resumed run starts from.
  MetricsLog(const std::string& path, std::optional<int64_t> resumed_at);
  void write(const nlohmann::json& record);

 private:
  std::optional<std::ofstream> out_;
};

}  // namespace examples
