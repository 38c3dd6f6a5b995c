#include "examples/common/job.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "engine/heed.hpp"
#include "nn/distributed.hpp"

namespace examples {

namespace distributed = heed::nn::distributed;

void join_job(const GlobalOptions& global) {
  distributed::init();
  if (distributed::world_size() == 1) return;
  if (distributed::rank() != 0 && std::freopen("/dev/null", "w", stdout) == nullptr) {
    heed::fail("rank {}: cannot send stdout to /dev/null", distributed::rank());
  }
  if (global.threads == 0 && std::getenv("HEED_NUM_THREADS") == nullptr) {
    const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
    heed::set_num_threads(std::max(1, cores / distributed::local_size()));
  }
}

void leave_job() {
  distributed::finalize();
}

int report_error(const std::string& program, const std::string& message) {
  if (distributed::world_size() == 1) {
    fmt::print(stderr, "{}: {}\n", program, message);
    return 2;
  }
  fmt::print(stderr, "{}: rank {} of {}: {}\n", program, distributed::rank(),
             distributed::world_size(), message);
  std::fflush(stderr);
  distributed::abort_job(2);
}

void inject_fault_if_asked(int64_t step) {
  static const char* const fault = std::getenv("HEED_INJECT_FAULT");
  if (fault == nullptr) return;
  int rank = -1;
  long long at = -1;
  char kind[16] = {};
  if (std::sscanf(fault, "%d:%lld:%15s", &rank, &at, kind) != 3) {
    heed::fail("HEED_INJECT_FAULT must be RANK:STEP:KIND (KIND error or kill), got '{}'", fault);
  }
  if (rank != distributed::rank() || at != step) return;
  if (std::string(kind) == "kill") std::raise(SIGKILL);
  heed::fail("injected fault at step {} (HEED_INJECT_FAULT)", step);
}

MetricsLog::MetricsLog(const std::string& path, bool append) {
  if (path.empty() || distributed::rank() != 0) return;
  out_.emplace(path, append ? std::ios::app : std::ios::trunc);
  if (!*out_) heed::fail("--metrics {}: cannot open it for writing", path);
}

void MetricsLog::write(const nlohmann::json& record) {
  if (!out_) return;
  *out_ << record.dump() << '\n' << std::flush;
}

}  // namespace examples
