// Optimizers: parameter groups and their state, SGD (momentum, Nesterov, weight decay), Adam and
// AdamW (through the fused adam_step_), and gradient clipping.
#include "nn/optim.hpp"

#include <cmath>

namespace heed::nn {

std::vector<ParamGroup> decay_and_no_decay_groups(const Module& module, double lr,
                                                  double weight_decay) {
  ParamGroup decay{{}, lr, weight_decay}, no_decay{{}, lr, 0.0};
  for (const Tensor& p : module.parameters()) (p.dim() >= 2 ? decay : no_decay).params.push_back(p);
  std::vector<ParamGroup> groups;
  if (!decay.params.empty()) groups.push_back(decay);
  if (!no_decay.params.empty()) groups.push_back(no_decay);
  return groups;
}

Optimizer::Optimizer(std::vector<ParamGroup> groups) : groups_(std::move(groups)) {
  size_t count = 0;
  for (const ParamGroup& group : groups_) {
    if (!(group.lr >= 0.0)) fail("optimizer: lr must be >= 0, got {}", group.lr);
    if (!(group.weight_decay >= 0.0)) {
      fail("optimizer: weight_decay must be >= 0, got {}", group.weight_decay);
    }
    for (const Tensor& p : group.params) {
      if (!p.defined() || !p.requires_grad() || !p.is_leaf()) {
        fail("optimizer: every parameter must be a leaf tensor that requires grad");
      }
    }
    count += group.params.size();
  }
  if (count == 0) fail("optimizer: got no parameters to optimize");
  state_.resize(count);
}

void Optimizer::for_each_update(
    const std::function<void(Tensor&, const Tensor&, const ParamGroup&, ParameterState&)>& update) {
  NoGradGuard no_grad;
  size_t index = 0;
  for (ParamGroup& group : groups_) {
    for (Tensor& p : group.params) {
      ParameterState& state = state_[index++];
      if (p.grad().defined()) update(p, p.grad(), group, state);
    }
  }
}

void Optimizer::zero_grad() {
  for (const ParamGroup& group : groups_) {
    for (const Tensor& p : group.params) p.zero_grad();
  }
}

StateDict Optimizer::state_dict() const {
  StateDict out;
  for (size_t g = 0; g < groups_.size(); ++g) {
    out.emplace(fmt::format("group.{}.lr", g), scalar_tensor(groups_[g].lr, {kFloat64}));
    out.emplace(fmt::format("group.{}.initial_lr", g),
                scalar_tensor(groups_[g].initial_lr, {kFloat64}));
  }
  for (size_t i = 0; i < state_.size(); ++i) {
    for (const auto& [name, value] : state_[i])
      out.emplace(fmt::format("state.{}.{}", i, name), value);
  }
  return out;
}

void Optimizer::load_state_dict(const StateDict& state) {
  std::vector<Tensor> params;
  for (const ParamGroup& group : groups_) {
    for (const Tensor& p : group.params) params.push_back(p);
  }
  std::vector<std::map<std::string, Tensor>> loaded(params.size());
  std::vector<double> lrs(groups_.size(), -1.0), initial_lrs(groups_.size(), -1.0);
  for (const auto& [key, value] : state) {
    size_t index = 0;
    char name[64] = {};
    if (std::sscanf(key.c_str(), "group.%zu.%63s", &index, name) == 2 && index < groups_.size() &&
        (std::string(name) == "lr" || std::string(name) == "initial_lr")) {
      (std::string(name) == "lr" ? lrs : initial_lrs)[index] = value.item();
    } else if (std::sscanf(key.c_str(), "state.%zu.%63s", &index, name) == 2 &&
               index < params.size()) {
      const bool per_element = std::string(name) != "step";
      if (per_element && value.shape() != params[index].shape()) {
        fail(
            "optimizer load_state_dict: '{}' has shape {} but parameter {} has shape {} (state "
            "from another model?)",
            key, shape_str(value.shape()), index, shape_str(params[index].shape()));
      }
      loaded[index][name] = value.to(per_element ? params[index].dtype() : kFloat64)
                                .to(params[index].device())
                                .clone();
    } else {
      fail(
          "optimizer load_state_dict: unexpected entry '{}' for an optimizer with {} groups and "
          "{} parameters",
          key, groups_.size(), params.size());
    }
  }
  for (size_t g = 0; g < groups_.size(); ++g) {
    if (lrs[g] < 0) fail("optimizer load_state_dict: missing 'group.{}.lr'", g);
    groups_[g].lr = lrs[g];
    groups_[g].initial_lr = initial_lrs[g];
  }
  state_ = std::move(loaded);
}

SGD::SGD(std::vector<ParamGroup> groups, SGDOptions opts)
    : Optimizer(std::move(groups)), options(opts) {
  if (options.momentum < 0) fail("SGD: momentum must be >= 0, got {}", options.momentum);
  if (options.nesterov && (options.momentum <= 0 || options.dampening != 0)) {
    fail("SGD: Nesterov momentum needs momentum > 0 and dampening = 0");
  }
}

void SGD::step() {
  for_each_update(
      [&](Tensor& p, const Tensor& grad, const ParamGroup& group, ParameterState& state) {
        Tensor g = grad;
        if (group.weight_decay != 0) g = g + p * group.weight_decay;  // g += wd * p
        if (options.momentum != 0) {
          Tensor& buffer = state["momentum_buffer"];
          // b = g on the first step, then b = momentum * b + (1 - dampening) * g
          buffer = buffer.defined() ? buffer * options.momentum + g * (1.0 - options.dampening)
                                    : g.clone();
          g = options.nesterov ? g + buffer * options.momentum : buffer;
        }
        p.copy_(p - g * group.lr);  // p -= lr * g
      });
}

Adam::Adam(std::vector<ParamGroup> groups, AdamOptions opts)
    : Adam(std::move(groups), opts, false) {}

Adam::Adam(std::vector<ParamGroup> groups, AdamOptions opts, bool decoupled)
    : Optimizer(std::move(groups)), options(opts), decoupled_weight_decay_(decoupled) {
  if (!(opts.beta1 >= 0 && opts.beta1 < 1 && opts.beta2 >= 0 && opts.beta2 < 1)) {
    fail("Adam: betas must be in [0, 1), got ({}, {})", opts.beta1, opts.beta2);
  }
  if (!(opts.eps >= 0)) fail("Adam: eps must be >= 0, got {}", opts.eps);
}

void Adam::step() {
  const double beta1 = options.beta1, beta2 = options.beta2;
  for_each_update(
      [&](Tensor& p, const Tensor& grad, const ParamGroup& group, ParameterState& state) {
        if (!state.contains("step")) {
          state["step"] = scalar_tensor(0.0, {kFloat64});
          state["exp_avg"] = zeros_like(p);
          state["exp_avg_sq"] = zeros_like(p);
        }
        const double t = state["step"].item() + 1.0;
        state["step"] = scalar_tensor(t, {kFloat64});
        // The update (see optim.hpp) in one fused kernel per parameter.
        adam_step_(p, grad, state["exp_avg"], state["exp_avg_sq"],
                   {.lr = group.lr,
                    .beta1 = beta1,
                    .beta2 = beta2,
                    .eps = options.eps,
                    .weight_decay = group.weight_decay,
                    .decoupled = decoupled_weight_decay_,
                    .step = static_cast<int64_t>(t)});
      });
}

AdamW::AdamW(std::vector<ParamGroup> groups, AdamOptions opts)
    : Adam(std::move(groups), opts, true) {}

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
  NoGradGuard no_grad;
  double squared = 0;
  for (const Tensor& p : params) {
    if (p.grad().defined()) squared += (p.grad() * p.grad()).sum().item();
  }
  const double total = std::sqrt(squared);
  const double coefficient = max_norm / (total + 1e-6);
  if (coefficient < 1.0) {
    for (const Tensor& p : params) {
      if (p.grad().defined()) p.set_grad(p.grad() * coefficient);
    }
  }
  return total;
}

}  // namespace heed::nn
