// The backward pass: record() attaches Nodes during the forward; run_backward orders them with
// an explicit-stack depth-first search and runs each closure once, summing gradients into leaves.
// Long graphs are torn down iteratively too. See docs/autograd.md.
#include "engine/autograd.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include "engine/error.hpp"
#include "engine/profiler.hpp"

namespace heed {

namespace {
thread_local bool grad_mode = true;
thread_local uint64_t backward_passes = 0;

// Destroying the last handle to a long chain would recurse once per node (node -> edge -> node
// ...) and overflow the stack. Instead, a dying node hands the nodes its edges hold to this
// list, and only the outermost destructor drains it, one node at a time.
thread_local std::vector<std::shared_ptr<Node>> nodes_to_release;
thread_local bool releasing = false;

bool anomaly_detection = [] {
  const char* value = std::getenv("HEED_DETECT_ANOMALY");
  return value != nullptr && std::strcmp(value, "1") == 0;
}();

// True when any element of a floating-point gradient is NaN or inf, checked on a host copy.
// (ops' all_finite does the same with engine ops; autograd does not call the ops it drives.)
bool has_non_finite(const Tensor& gradient) {
  if (gradient.dtype() != kFloat32 && gradient.dtype() != kFloat64) return false;
  const Tensor host = gradient.detach().to(kCPU).contiguous();
  auto any_bad = [&](const auto* values) {
    for (int64_t i = 0; i < host.numel(); ++i) {
      if (!std::isfinite(values[i])) return true;
    }
    return false;
  };
  return host.dtype() == kFloat32 ? any_bad(host.data_ptr<float>())
                                  : any_bad(host.data_ptr<double>());
}
}  // namespace

void set_detect_anomaly(bool enabled) {
  anomaly_detection = enabled;
}
bool detect_anomaly_enabled() {
  return anomaly_detection;
}

Node::~Node() {
  for (Edge& edge : edges) {
    if (edge.node) nodes_to_release.push_back(std::move(edge.node));
  }
  edges.clear();
  backward = nullptr;  // the closure may hold saved tensors; they have no grad_fn, so no recursion
  if (releasing) return;
  releasing = true;
  while (!nodes_to_release.empty()) {
    std::shared_ptr<Node> last = std::move(nodes_to_release.back());
    nodes_to_release.pop_back();
    // `last` dies here if it was the final reference; its own edges' nodes are appended.
  }
  releasing = false;
}

bool grad_enabled() {
  return grad_mode;
}

NoGradGuard::NoGradGuard() : previous_(grad_mode) {
  grad_mode = false;
}
NoGradGuard::~NoGradGuard() {
  grad_mode = previous_;
}

bool any_requires_grad(const std::vector<Tensor>& inputs) {
  if (!grad_mode) return false;
  for (const Tensor& input : inputs) {
    if (input.defined() && input.requires_grad()) return true;
  }
  return false;
}

Tensor record(Tensor output, std::string name, std::vector<Tensor> inputs,
              BackwardFunction backward) {
  if (!any_requires_grad(inputs)) return output;
  auto node = std::make_shared<Node>();
  node->name = std::move(name);
  for (const Tensor& input : inputs) {
    Edge edge;
    if (input.defined()) {
      edge.shape = input.shape(), edge.dtype = input.dtype(), edge.device = input.device();
      if (input.grad_fn()) {
        edge.node = input.grad_fn();
      } else if (input.requires_grad()) {
        edge.leaf = input.shared_impl();
      }
    }
    node->edges.push_back(std::move(edge));
  }
  node->backward = std::move(backward);
  output.impl()->grad_fn = std::move(node);
  output.impl()->requires_grad = true;
  return output;
}

namespace {

// Nodes in an order where every node comes before the nodes of its inputs (reverse postorder of
// an iterative depth-first search from the root). A node is marked visited with the sort's own
// number, never reused. Marks and gradient sums live on the nodes, so two threads must not run
// backward passes through the same nodes at once (passes over separate graphs are fine).
std::vector<Node*> topological_order(Node* root) {
  static std::atomic<uint64_t> sorts = 0;
  const uint64_t mark = ++sorts;
  std::vector<Node*> postorder;
  root->sorted_in_pass = mark;
  // Each frame: a node and how many of its inputs have been pushed so far.
  std::vector<std::pair<Node*, size_t>> stack{{root, 0}};
  while (!stack.empty()) {
    auto& [node, next_input] = stack.back();
    if (next_input < node->edges.size()) {
      Node* child = node->edges[next_input++].node.get();
      if (child != nullptr && child->sorted_in_pass != mark) {
        child->sorted_in_pass = mark;
        stack.push_back({child, 0});
      }
    } else {
      postorder.push_back(node);
      stack.pop_back();
    }
  }
  return {postorder.rbegin(), postorder.rend()};
}

void accumulate_into_leaf(const Tensor& leaf, const Tensor& grad) {
  const profiler::Scope profiled("accumulate_grad", profiler::Kind::backward);
  const Tensor existing = leaf.grad();  // leaf.grad() += grad
  leaf.set_grad(existing.defined() ? existing.add(grad) : grad.contiguous());
}

bool has_grad_ready_hooks(const TensorImpl* leaf) {
  return leaf != nullptr && leaf->grad_ready_hooks && !leaf->grad_ready_hooks->hooks.empty();
}

void run_grad_ready_hooks(const Tensor& leaf) {
  // A copy: a hook may add or remove hooks of this leaf.
  const std::vector<std::pair<uint64_t, GradReadyHook>> hooks =
      leaf.impl()->grad_ready_hooks->hooks;
  for (const auto& entry : hooks) entry.second(leaf);
}

// How many edges of the pass's nodes still lead to each hooked leaf: when the count reaches 0,
// no node left can add to that leaf's .grad, so its hooks run. Empty (and free) without hooks.
class GradReadyTracker {
 public:
  explicit GradReadyTracker(const std::vector<Node*>& order) {
    for (const Node* node : order) {
      for (const Edge& edge : node->edges) {
        if (has_grad_ready_hooks(edge.leaf.get())) ++edges_left_[edge.leaf.get()];
      }
    }
  }
  // After `node` has run (or was skipped because no gradient reached it).
  void node_done(const Node& node) {
    if (edges_left_.empty()) return;
    for (const Edge& edge : node.edges) {
      const auto found = edges_left_.find(edge.leaf.get());
      if (found == edges_left_.end() || --found->second > 0) continue;
      edges_left_.erase(found);
      run_grad_ready_hooks(Tensor(edge.leaf));
    }
  }

 private:
  std::unordered_map<const TensorImpl*, int64_t> edges_left_;
};

// Empties every node's gradient_sum when the pass ends, normally or by an exception.
struct ClearGradientSums {
  const std::vector<Node*>& order;
  ~ClearGradientSums() {
    for (Node* node : order) node->gradient_sum = Tensor();
  }
};

}  // namespace

uint64_t backward_pass_number() {
  return backward_passes;
}

void run_backward(const Tensor& root, const Tensor& gradient, bool retain_graph) {
  ++backward_passes;
  if (!root.requires_grad()) {
    fail(
        "backward: the tensor does not require grad and has no grad_fn (did an input call "
        "requires_grad_(), and was grad mode on?)");
  }
  Tensor seed = gradient;
  if (!seed.defined()) {
    if (root.numel() != 1) {
      fail(
          "backward: a gradient can be created implicitly only for a one-element output, got "
          "shape {}; pass the gradient explicitly",
          shape_str(root.shape()));
    }
    seed = ones_like(root);
  } else if (seed.shape() != root.shape() || seed.dtype() != root.dtype()) {
    fail(
        "backward: gradient of shape {} and dtype {} does not match the output's shape {} and "
        "dtype {}",
        shape_str(seed.shape()), dtype_name(seed.dtype()), shape_str(root.shape()),
        dtype_name(root.dtype()));
  }

  NoGradGuard no_grad;  // no higher-order gradients: backward builds no graph
  const profiler::BackwardPhase backward_phase;  // what runs from here is profiled as backward
  if (root.is_leaf()) {
    accumulate_into_leaf(root, seed);
    if (has_grad_ready_hooks(root.impl())) run_grad_ready_hooks(root);
    return;
  }

  const std::vector<Node*> order = topological_order(root.grad_fn().get());
  // A pass that fails part way leaves no gradient sums behind on the nodes it did not reach.
  const ClearGradientSums clear_at_exit{order};
  root.grad_fn()->gradient_sum = seed;
  GradReadyTracker grad_ready(order);
  // Every node stays alive for the whole pass: root holds its grad_fn, each node its edges'
  // nodes, and releasing a node below frees only its closure (what it saved), not its edges.
  for (Node* node : order) {
    if (!node->gradient_sum.defined()) {  // no gradient reached this node
      grad_ready.node_done(*node);
      continue;
    }
    const Tensor grad_output = std::move(node->gradient_sum);
    node->gradient_sum = Tensor();
    if (node->released) {
      fail(
          "backward: trying to go through the graph a second time (op '{}'); its saved tensors "
          "were freed after the first backward. Pass retain_graph=true to the first call",
          node->name);
    }
    std::vector<Tensor> grads;
    {
      const profiler::Scope profiled(node->name.c_str(), profiler::Kind::backward);
      grads = node->backward(grad_output);
    }
    // A closure owes one gradient per input (undefined where none flows), each of its input's
    // shape, dtype and device: a mistake in a new op's backward is an error here, not a
    // gradient silently dropped or a leaf's grad turned float64.
    if (grads.size() != node->edges.size()) {
      fail("backward of '{}' returned {} gradients for its {} inputs", node->name, grads.size(),
           node->edges.size());
    }
    for (size_t i = 0; i < node->edges.size(); ++i) {
      const Edge& edge = node->edges[i];
      if (!edge.wants_gradient() || !grads[i].defined()) continue;
      // A leaf is checked as it is now, not as it was in the forward: one frozen since
      // (requires_grad_(false)) gets nothing, and one moved by set_data (Module::to) in between
      // is an error here rather than a gradient of the old dtype or device.
      const Tensor leaf = edge.leaf ? Tensor(edge.leaf) : Tensor();
      if (leaf.defined() && !leaf.requires_grad()) continue;
      const Shape& shape = leaf.defined() ? leaf.shape() : edge.shape;
      const DType dtype = leaf.defined() ? leaf.dtype() : edge.dtype;
      const Device device = leaf.defined() ? leaf.device() : edge.device;
      if (grads[i].shape() != shape) {
        fail("backward of '{}': gradient for input {} has shape {}, expected {}", node->name, i,
             shape_str(grads[i].shape()), shape_str(shape));
      }
      if (grads[i].dtype() != dtype || grads[i].device() != device) {
        fail("backward of '{}': gradient for input {} is {} on {}, expected {} on {}", node->name,
             i, dtype_name(grads[i].dtype()), grads[i].device().str(), dtype_name(dtype),
             device.str());
      }
      if (anomaly_detection && has_non_finite(grads[i])) {
        fail(
            "anomaly detected (HEED_DETECT_ANOMALY): the backward of '{}' produced NaN or inf in "
            "the gradient of its input {} (shape {})",
            node->name, i, shape_str(edge.shape));
      }
      if (leaf.defined()) {
        accumulate_into_leaf(leaf, grads[i]);
      } else {
        Tensor& sum = edge.node->gradient_sum;
        sum = sum.defined() ? sum.add(grads[i]) : grads[i];  // gradients that meet add up
      }
    }
    if (!retain_graph) {
      node->backward = nullptr;
      node->released = true;
    }
    grad_ready.node_done(*node);
  }
}

uint64_t add_grad_ready_hook(const Tensor& leaf, GradReadyHook hook) {
  if (!leaf.defined()) fail("add_grad_ready_hook: the tensor is undefined");
  if (!leaf.is_leaf() || !leaf.requires_grad()) {
    fail("add_grad_ready_hook: expected a leaf that requires grad (a parameter), got {}",
         leaf.is_leaf() ? "a leaf that does not require grad" : "the output of an op");
  }
  if (!hook) fail("add_grad_ready_hook: the hook is empty");
  static std::atomic<uint64_t> next_id = 0;  // never reused: removing a stale id is harmless
  auto& hooks = leaf.impl()->grad_ready_hooks;
  if (!hooks) hooks = std::make_shared<GradReadyHooks>();
  const uint64_t id = ++next_id;
  hooks->hooks.emplace_back(id, std::move(hook));
  return id;
}

void remove_grad_ready_hook(const Tensor& leaf, uint64_t id) {
  if (!leaf.defined() || !leaf.impl()->grad_ready_hooks) return;
  std::erase_if(leaf.impl()->grad_ready_hooks->hooks,
                [id](const auto& entry) { return entry.first == id; });
}

void zero_grad(const std::vector<Tensor>& tensors) {
  for (const Tensor& t : tensors) t.zero_grad();
}

}  // namespace heed
