#include "examples/common/progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

#include "nn/distributed.hpp"

namespace examples {

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string format_duration(double seconds) {
  const auto s = static_cast<int64_t>(seconds);
  return s >= 3600 ? fmt::format("{}h{:02}m", s / 3600, s / 60 % 60)
                   : fmt::format("{}m{:02}s", s / 60, s % 60);
}

// mpirun forwards a rank's output through a terminal of its own even when mpirun's output is a
// file: a process it started prints plain lines.
ProgressLine::ProgressLine()
    : terminal_(isatty(STDOUT_FILENO) != 0 && !heed::nn::distributed::started_by_launcher()) {}

void ProgressLine::update(const std::string& line) {
  if (terminal_) {
    fmt::print("\r{}\x1b[K", line);  // back to the line's start, write, clear what is left
    pending_ = true;
  } else {
    fmt::print("{}\n", line);
  }
  std::fflush(stdout);
}

void ProgressLine::break_line() {
  if (pending_) fmt::print("\n");
  pending_ = false;
}

}  // namespace examples
