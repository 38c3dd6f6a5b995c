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

namespace {

// HEED_INJECT_FAULT, read once: which rank fails, at which step, and how.
struct Fault {
  int rank = -1;
  int64_t step = -1;
  bool kill = false;
};

std::optional<Fault> requested_fault() {
  const char* text = std::getenv("HEED_INJECT_FAULT");
  if (text == nullptr) return std::nullopt;
  Fault fault;
  long long step = -1;
  char kind[8] = {}, extra = 0;
  const bool parsed = std::sscanf(text, "%d:%lld:%7[a-z]%c", &fault.rank, &step, kind, &extra) == 3;
  fault.step = step;
  fault.kill = std::string(kind) == "kill";
  if (!parsed || (!fault.kill && std::string(kind) != "error") || fault.step < 1 ||
      fault.rank < 0 || fault.rank >= distributed::world_size()) {
    heed::fail(
        "HEED_INJECT_FAULT must be RANK:STEP:KIND with RANK a rank of this job of {} (0 to {}), "
        "STEP 1 or more and KIND error or kill, got {}",
        distributed::world_size(), distributed::world_size() - 1, heed::printable(text));
  }
  return fault;
}

}  // namespace

void join_job() {
  distributed::init();
  if (distributed::rank() != 0 && std::freopen("/dev/null", "w", stdout) == nullptr) {
    heed::fail("rank {}: cannot send stdout to /dev/null", distributed::rank());
  }
  (void)requested_fault();  // a malformed request fails now, not at its step
}

void set_threads(const GlobalOptions& global) {
  if (global.threads > 0) {
    heed::set_num_threads(int(global.threads));
  } else if (distributed::local_size() > 1 && std::getenv("HEED_NUM_THREADS") == nullptr) {
    const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
    heed::set_num_threads(std::max(1, cores / distributed::local_size()));
  }
}

void check_global_batch(int64_t batch_size, const std::string& whose) {
  if (batch_size % distributed::world_size() != 0) {
    heed::fail(
        "--batch-size {}{} is the global batch and must split evenly among the job's {} "
        "ranks",
        batch_size, whose, distributed::world_size());
  }
}

void check_same_data(const std::vector<heed::Tensor>& data) {
  distributed::check_replicas_identical(
      data, "in their training data (--data must be the same file on every rank)");
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
  static const std::optional<Fault> fault = requested_fault();
  if (!fault || fault->rank != distributed::rank() || fault->step != step) return;
  if (fault->kill) std::raise(SIGKILL);
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
