// Progress lines for training loops. On a terminal one line rewrites itself in place; when
// stdout is a file or a pipe, or in a data-parallel job, every report is a plain line of its own,
// so logs stay readable.
#pragma once

#include <chrono>
#include <string>

namespace examples {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start);
std::string format_duration(double seconds);  // "4m07s", "1h02m"

class ProgressLine {
 public:
  ProgressLine();  // looks at whether stdout is a terminal (call after joining a job)
  void update(const std::string& line);
  // Before printing anything else: ends the line being rewritten (a no-op when not a terminal,
  // or when nothing is pending).
  void break_line();
  bool terminal() const { return terminal_; }

 private:
  bool terminal_;
  bool pending_ = false;
};

}  // namespace examples
