#include "examples/common/job.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "engine/heed.hpp"
#include "engine/io/json_reader.hpp"
#include "examples/common/checks.hpp"
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
  if (distributed::rank() != 0) std::this_thread::sleep_for(std::chrono::milliseconds(500));
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

RankDropoutStream::RankDropoutStream(uint64_t seed, int64_t step) {
  if (distributed::world_size() == 1) return;
  common_ = heed::default_generator();
  const uint64_t stream = uint64_t(step) * uint64_t(distributed::world_size()) +
                          uint64_t(distributed::rank());  // a different one per step and rank
  heed::default_generator() = heed::Generator(seed ^ (0x9E3779B97F4A7C15ULL * (stream + 1)));
}

RankDropoutStream::~RankDropoutStream() {
  if (common_) heed::default_generator() = *common_;
}

MetricsLog::MetricsLog(const std::string& path, std::optional<int64_t> resumed_at) {
  if (path.empty() || distributed::rank() != 0) return;
  if (resumed_at) {
    // Keep the records up to the checkpoint's step; the file is read as untrusted text: a line
    // that is not a record with a whole-number step is dropped too.
    std::string kept;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
      try {
        const nlohmann::json record = heed::parse_untrusted_json(line, "--metrics");
        if (record.is_object() && record.contains("step") && record["step"].is_number_integer() &&
            record["step"].get<int64_t>() <= *resumed_at) {
          kept += line + "\n";
        }
      } catch (const heed::Error&) {
        // not a record: dropped
      }
    }
    write_file_atomically(path, kept, "--metrics");
  }
  out_.emplace(path, resumed_at ? std::ios::app : std::ios::trunc);
  if (!*out_) heed::fail("--metrics {}: cannot open it for writing", path);
}

void MetricsLog::write(const nlohmann::json& record) {
  if (!out_) return;
  *out_ << record.dump() << '\n' << std::flush;
}

}  // namespace examples
