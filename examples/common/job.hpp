// An example run as one rank of a data-parallel job (`mpirun -np N gpt train ...`): the examples'
// side of nn/distributed. Started alone, every function here behaves as for one process.
#pragma once

#include <cstdint>
#include <fstream>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "examples/common/flags.hpp"

namespace examples {

// Joins the job (nn::distributed::init). Ranks other than 0 send stdout to /dev/null, so rank 0
// alone prints progress and results (errors go to stderr from every rank). Unless --threads or
// HEED_NUM_THREADS say otherwise, a machine's cores are shared among the ranks it runs.
void join_job(const GlobalOptions& global);

// Leaves the job cleanly at the end of a run.
void leave_job();

// The examples' one-line error: "gpt: message" alone, "gpt: rank 1 of 2: message" in a job of
// several, which then ends on every rank at once (nobody waits for a rank that failed). Returns
// the exit status, 2, when the process is alone.
int report_error(const std::string& program, const std::string& message);

// Fault injection for the tests of a job's failure: HEED_INJECT_FAULT=RANK:STEP:KIND makes rank
// RANK, on reaching optimizer step STEP, throw a heed::Error (KIND error) or die at once from
// SIGKILL (KIND kill), as a crashed machine would. Does nothing without the variable.
void inject_fault_if_asked(int64_t step);

// --metrics FILE: one JSON object per line for every optimizer step (step, loss, lr, grad_norm,
// tokens, seconds), written by rank 0 only; a resumed run appends to the same file.
class MetricsLog {
 public:
  MetricsLog(const std::string& path, bool append);  // "" or a rank other than 0: writes nothing
  void write(const nlohmann::json& record);

 private:
  std::optional<std::ofstream> out_;
};

}  // namespace examples
