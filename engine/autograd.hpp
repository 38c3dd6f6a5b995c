// Reverse-mode autograd. Every op whose inputs require grad records a Node on its output: one
// edge per input saying where that input's gradient goes, and a closure mapping the output's
// gradient to one gradient per input.
// backward() orders the nodes topologically (iteratively: graphs 100,000 nodes deep are fine),
// runs each closure once with the summed gradient of its output, and accumulates into leaves.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.hpp"

namespace heed {

// Maps dL/d(output) to dL/d(input_i) for every input; an undefined Tensor means "no gradient".
using BackwardFunction = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

struct Node;

// Where the gradient of one input of a node goes: into the node that produced the input (its
// grad_fn), or, for a leaf, into the leaf's .grad. An edge holds that node or that leaf, never
// the input tensor itself: an activation is freed as soon as no backward closure saved it,
// instead of living as long as the graph. It also keeps what the gradient must look like.
struct Edge {
  std::shared_ptr<Node> node;        // the input's grad_fn; null for a leaf
  std::shared_ptr<TensorImpl> leaf;  // the leaf whose .grad accumulates; null otherwise
  Shape shape;                       // the input's shape, dtype and device, which its
  DType dtype = kFloat32;            // gradient must have
  Device device;
  bool wants_gradient() const { return node != nullptr || leaf != nullptr; }
};

struct Node {
  std::string name;         // the op, for error messages and graph printing
  std::vector<Edge> edges;  // one per input the op read, in order
  BackwardFunction backward;
  bool released = false;  // set when backward() freed this node (no retain_graph)
  // Scratch space of the running backward pass, kept on the node rather than in hash maps, so a
  // pass allocates nothing per node: the sort's mark, and the gradients that reached this node
  // so far, summed (empty again when the pass ends, however it ends).
  uint64_t sorted_in_pass = 0;
  Tensor gradient_sum;

  Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  ~Node();  // tears long chains down iteratively instead of recursively
};

// Grad mode: on by default; NoGradGuard turns it off for a scope (thread-local).
bool grad_enabled();
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// True when grad mode is on and any of the tensors requires grad.
bool any_requires_grad(const std::vector<Tensor>& inputs);

// Called by every op after its forward: attaches a Node to `output` when any input requires
// grad, and returns output. The node keeps an edge per input, not the inputs: whatever the
// backward needs, the closure saves itself, detached (x.detach()), so that the graph never holds
// a reference cycle and keeps nothing the backward does not read.
Tensor record(Tensor output, std::string name, std::vector<Tensor> inputs,
              BackwardFunction backward);

// Runs the backward pass from `root` (see Tensor::backward).
void run_backward(const Tensor& root, const Tensor& gradient, bool retain_graph);

// How many backward passes this thread has started. Closures that share state across nodes
// (unbind's pieces) use it to tell one pass from the next, even after a pass that failed.
uint64_t backward_pass_number();

// Anomaly mode, as torch.autograd.detect_anomaly: every gradient a backward closure returns is
// checked, and the first that holds NaN or inf is a heed::Error naming the op that produced it.
// Off by default (it copies each gradient to the host); HEED_DETECT_ANOMALY=1 in the environment
// turns it on at start.
void set_detect_anomaly(bool enabled);
bool detect_anomaly_enabled();

// Grad-ready hooks (PyTorch's register_post_accumulate_grad_hook): `hook(leaf)` runs once per
// backward pass, as soon as that pass has added everything it will add to the leaf's .grad —
// while the pass goes on with the rest of the graph. A leaf the pass never reaches gets no call.
// This is the one seam data-parallel training needs: it starts averaging a group of gradients
// across processes the moment the group is final (nn/distributed.hpp).
using GradReadyHook = std::function<void(const Tensor& leaf)>;
struct GradReadyHooks {
  std::vector<std::pair<uint64_t, GradReadyHook>> hooks;  // by id, in the order added
};
// A hook that throws ends the backward pass with its exception (nodes not yet run keep their
// graph; the leaves' .grad holds what was accumulated so far).
// Returns an id for remove_grad_ready_hook. The leaf must require grad.
uint64_t add_grad_ready_hook(const Tensor& leaf, GradReadyHook hook);
void remove_grad_ready_hook(const Tensor& leaf, uint64_t id);  // an unknown id is ignored

// Clears the .grad() of each tensor.
void zero_grad(const std::vector<Tensor>& tensors);

}  // namespace heed
