// The profiler's bookkeeping: a stack of open scopes per thread, and one table of rows for the
// process, keyed by (name, kind, phase). See engine/profiler.hpp for what the rows mean.
#include "engine/profiler.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>

#include <fmt/format.h>

namespace heed::profiler {

namespace {

using Clock = std::chrono::steady_clock;

struct Frame {
  const char* name;
  Kind kind;
  Phase phase;
  Clock::time_point start;
  double child_seconds = 0;  // total time of the scopes opened inside this one
  uint64_t bytes = 0;        // allocated while this scope was the innermost
};

thread_local std::vector<Frame> open_scopes;
thread_local bool in_backward_pass = false;

using Key = std::tuple<std::string, Kind, Phase>;

// Never destroyed: the table is printed from an atexit handler, after static destructors may
// have started to run.
struct Table {
  std::mutex mutex;
  std::map<Key, Row> rows;
  Clock::time_point started = Clock::now();
  double covered_seconds = 0;  // the total time of outermost scopes
};
Table& table_state() {
  static Table* state = new Table;
  return *state;
}

std::string human_bytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) value /= 1024, ++unit;
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, units[unit]);
}

void print_at_exit() {
  std::fputs(table().c_str(), stderr);
}

// HEED_PROFILE=1 turns the profiler on for the whole run and prints the table at exit.
bool enabled_from_environment() {
  const char* value = std::getenv("HEED_PROFILE");
  if (value == nullptr || std::strcmp(value, "") == 0 || std::strcmp(value, "0") == 0) {
    return false;
  }
  if (std::strcmp(value, "1") != 0) {
    std::fprintf(stderr, "heed: HEED_PROFILE must be 0 or 1, got '%s'; the profiler stays off\n",
                 value);
    return false;
  }
  table_state();  // starts the wall clock now
  std::atexit(print_at_exit);
  return true;
}

}  // namespace

namespace detail {

std::atomic<bool> enabled_flag = enabled_from_environment();

void open(const char* name, Kind kind) {
  open_scopes.push_back(
      {name, kind, in_backward_pass ? Phase::backward : Phase::forward, Clock::now()});
}

void close() {
  if (open_scopes.empty()) return;  // turned on inside a scope that opened while it was off
  const Frame frame = open_scopes.back();
  open_scopes.pop_back();
  const double total = std::chrono::duration<double>(Clock::now() - frame.start).count();
  if (!open_scopes.empty()) open_scopes.back().child_seconds += total;
  Table& state = table_state();
  const std::lock_guard lock(state.mutex);
  Row& row = state.rows[Key{frame.name, frame.kind, frame.phase}];
  if (row.calls == 0) row.name = frame.name, row.kind = frame.kind, row.phase = frame.phase;
  row.calls += 1;
  row.total_seconds += total;
  row.self_seconds += total - frame.child_seconds;
  row.bytes_allocated += frame.bytes;
  if (open_scopes.empty()) state.covered_seconds += total;
}

}  // namespace detail

void set_enabled(bool on) {
  if (on && !enabled()) {
    Table& state = table_state();
    const std::lock_guard lock(state.mutex);
    state.started = Clock::now();
    state.covered_seconds = 0;
  }
  detail::enabled_flag.store(on);
}

BackwardPhase::BackwardPhase() : previous_(in_backward_pass) {
  in_backward_pass = true;
}
BackwardPhase::~BackwardPhase() {
  in_backward_pass = previous_;
}

void note_allocation(uint64_t bytes) {
  if (!open_scopes.empty()) open_scopes.back().bytes += bytes;
}

std::vector<Row> rows() {
  Table& state = table_state();
  std::vector<Row> result;
  {
    const std::lock_guard lock(state.mutex);
    for (const auto& entry : state.rows) result.push_back(entry.second);
  }
  std::stable_sort(result.begin(), result.end(),
                   [](const Row& a, const Row& b) { return a.self_seconds > b.self_seconds; });
  return result;
}

double wall_seconds() {
  Table& state = table_state();
  const std::lock_guard lock(state.mutex);
  return std::chrono::duration<double>(Clock::now() - state.started).count();
}

void reset() {
  Table& state = table_state();
  const std::lock_guard lock(state.mutex);
  state.rows.clear();
  state.started = Clock::now();
  state.covered_seconds = 0;
}

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::op:
      return "op";
    case Kind::backward:
      return "backward";
    case Kind::kernel:
      return "kernel";
  }
  return "?";
}

const char* phase_name(Phase phase) {
  return phase == Phase::forward ? "forward" : "backward";
}

std::string table(size_t max_rows) {
  const std::vector<Row> all = rows();
  const double wall = wall_seconds();
  double covered = 0;
  {
    Table& state = table_state();
    const std::lock_guard lock(state.mutex);
    covered = state.covered_seconds;
  }
  // Self time by kind: kernels do the arithmetic; ops' and backward nodes' self time is the
  // fixed cost around it.
  double self_by_kind[3] = {0, 0, 0};
  int64_t calls_by_kind[3] = {0, 0, 0};
  for (const Row& row : all) {
    self_by_kind[static_cast<int>(row.kind)] += row.self_seconds;
    calls_by_kind[static_cast<int>(row.kind)] += row.calls;
  }
  auto percent = [wall](double seconds) { return wall > 0 ? 100.0 * seconds / wall : 0.0; };
  auto per_call_us = [](double seconds, int64_t calls) {
    return calls > 0 ? 1e6 * seconds / static_cast<double>(calls) : 0.0;
  };

  std::string out = fmt::format(
      "heed profile: {:.3f} s of wall time; kernels {:.3f} s ({:.1f}%), ops' own time {:.3f} s "
      "({:.1f}%, {:.1f} us a call), backward nodes' own time {:.3f} s ({:.1f}%), outside any op "
      "{:.3f} s ({:.1f}%)\n",
      wall, self_by_kind[2], percent(self_by_kind[2]), self_by_kind[0], percent(self_by_kind[0]),
      per_call_us(self_by_kind[0], calls_by_kind[0]), self_by_kind[1], percent(self_by_kind[1]),
      wall - covered, percent(wall - covered));
  out +=
      fmt::format("{:<32} {:<8} {:<8} {:>9} {:>11} {:>11} {:>7} {:>11} {:>11}\n", "name", "kind",
                  "phase", "calls", "total ms", "self ms", "self %", "self us/call", "allocated");
  for (size_t i = 0; i < all.size() && i < max_rows; ++i) {
    const Row& row = all[i];
    out += fmt::format("{:<32} {:<8} {:<8} {:>9} {:>11.3f} {:>11.3f} {:>6.1f}% {:>11.2f} {:>11}\n",
                       row.name, kind_name(row.kind), phase_name(row.phase), row.calls,
                       1e3 * row.total_seconds, 1e3 * row.self_seconds, percent(row.self_seconds),
                       per_call_us(row.self_seconds, row.calls), human_bytes(row.bytes_allocated));
  }
  if (all.size() > max_rows) {
    double rest = 0;
    for (size_t i = max_rows; i < all.size(); ++i) rest += all[i].self_seconds;
    out += fmt::format("... {} more rows, {:.3f} ms of self time in all\n", all.size() - max_rows,
                       1e3 * rest);
  }
  return out;
}

}  // namespace heed::profiler
