// The profiler: where a program's time goes, op by op and kernel by kernel, forward and backward
// apart — what torch.profiler's key_averages() table shows for PyTorch.
//
// Turn it on with HEED_PROFILE=1 in the environment (the table is printed to stderr when the
// program exits) or with profiler::set_enabled(true) and profiler::table() in code. Off, each
// scope costs one load of a flag and a branch.
//
// Three kinds of scope are timed:
//   - op:       a public op (add, matmul, masked_softmax, ...), from its argument checks to
//               recording its node: in the forward, or when a backward closure calls an op;
//   - backward: one node's backward closure, and accumulate_grad (adding into a leaf's .grad);
//   - kernel:   one call into the backend's kernel table (gemm, softmax_forward, ...).
// Scopes nest. A row's total time includes the scopes inside it; its self time does not. So an
// op's self time is its fixed cost — checks, shape bookkeeping, allocation, the autograd node —
// and a kernel's self time is its arithmetic and memory traffic. Bytes allocated are counted
// against the innermost scope open when the tensor's storage was allocated. Two limits: a CUDA
// kernel returns at its launch, so its row times the launch and the work lands on whatever
// waits for it next; and rows sum the time of every thread that opens scopes, so with several
// such threads they can add up to more than the wall time.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace heed::profiler {

enum class Kind { op, backward, kernel };
enum class Phase { forward, backward };  // whether a backward pass was running

namespace detail {
extern std::atomic<bool> enabled_flag;
void open(const char* name, Kind kind);
void close();
}  // namespace detail

inline bool enabled() {
  return detail::enabled_flag.load(std::memory_order_relaxed);
}
// Turning it on starts the wall clock the table compares against; turning it off keeps the rows.
void set_enabled(bool on);

// Times the enclosing block under `name`, which must stay valid while the scope is open (a
// string literal, or the name of a node the backward pass is running). Cheap when it is off.
class Scope {
 public:
  explicit Scope(const char* name, Kind kind = Kind::op) : open_(enabled()) {
    if (open_) detail::open(name, kind);
  }
  ~Scope() {
    if (open_) detail::close();
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  bool open_;
};

// Marks the running thread as inside a backward pass for the guard's life (run_backward uses it).
class BackwardPhase {
 public:
  BackwardPhase();
  ~BackwardPhase();
  BackwardPhase(const BackwardPhase&) = delete;
  BackwardPhase& operator=(const BackwardPhase&) = delete;

 private:
  bool previous_;
};

// Storage calls this for every allocation while the profiler is on.
void note_allocation(uint64_t bytes);

struct Row {
  std::string name;
  Kind kind = Kind::op;
  Phase phase = Phase::forward;
  int64_t calls = 0;
  double total_seconds = 0;  // including the scopes inside
  double self_seconds = 0;   // excluding them
  uint64_t bytes_allocated = 0;
};

// The rows so far, sorted by self time, largest first.
std::vector<Row> rows();
// Seconds since the profiler was turned on (or reset), and how much of it no scope covered.
double wall_seconds();
// Forgets every row and restarts the wall clock.
void reset();
// The table as text: a header line with the wall time, then up to max_rows rows.
std::string table(size_t max_rows = 30);

const char* kind_name(Kind kind);
const char* phase_name(Phase phase);

}  // namespace heed::profiler
