// Optimizers: parameter groups and their state, SGD (momentum, Nesterov, weight decay), Adam and
// AdamW (through the fused adam_step_), and gradient clipping.
#include "nn/optim.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string_view>

#include <fmt/ranges.h>

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

namespace {

// "12" -> 12; anything else (a sign, leading zeros, other characters, too many digits) -> false,
// so two spellings of one index can never both load.
bool parse_index(std::string_view text, size_t& index) {
  if (text.empty() || text.size() > 9 || (text.size() > 1 && text[0] == '0')) return false;
  index = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    index = index * 10 + size_t(c - '0');
  }
  return true;
}

// Splits "state.3.exp_avg" into ("state", 3, "exp_avg").
bool parse_key(const std::string& key, std::string& kind, size_t& index, std::string& name) {
  const size_t first = key.find('.'), second = key.find('.', first + 1);
  if (first == std::string::npos || second == std::string::npos) return false;
  kind = key.substr(0, first), name = key.substr(second + 1);
  return parse_index(std::string_view(key).substr(first + 1, second - first - 1), index);
}

double scalar_entry(const std::string& key, const Tensor& value) {
  if (value.numel() != 1) {
    fail("optimizer load_state_dict: '{}' must hold one number, has shape {}", key,
         shape_str(value.shape()));
  }
  const double number = value.to(kFloat64).item();
  if (!std::isfinite(number)) fail("optimizer load_state_dict: '{}' is {}", key, number);
  return number;
}

}  // namespace

void Optimizer::load_state_dict(const StateDict& state) {
  std::vector<Tensor> params;
  for (const ParamGroup& group : groups_) {
    for (const Tensor& p : group.params) params.push_back(p);
  }
  const std::vector<std::string> entries = state_entries();
  std::vector<std::map<std::string, Tensor>> loaded(params.size());
  std::vector<std::optional<double>> lrs(groups_.size()), initial_lrs(groups_.size());
  for (const auto& [key, value] : state) {
    std::string kind, name;
    size_t index = 0;
    const bool parsed = parse_key(key, kind, index, name);
    if (parsed && kind == "group" && index < groups_.size() &&
        (name == "lr" || name == "initial_lr")) {
      const double lr = scalar_entry(key, value);
      // initial_lr is -1 until a schedule sets it (see ParamGroup).
      if (lr < 0 && !(name == "initial_lr" && lr == -1.0)) {
        fail("optimizer load_state_dict: '{}' is negative ({})", key, lr);
      }
      (name == "lr" ? lrs : initial_lrs)[index] = lr;
    } else if (parsed && kind == "state" && index < params.size() &&
               std::find(entries.begin(), entries.end(), name) != entries.end()) {
      const Tensor& p = params[index];
      if (name == "step") {
        const double step = scalar_entry(key, value);
        if (step < 0 || step != std::floor(step) || step > 9007199254740992.0) {
          fail("optimizer load_state_dict: '{}' is {}, expected a whole number in [0, 2^53]", key,
               step);
        }
        loaded[index][name] = scalar_tensor(step, {kFloat64, p.device()});
        continue;
      }
      if (value.shape() != p.shape()) {
        fail(
            "optimizer load_state_dict: '{}' has shape {} but parameter {} has shape {} (state "
            "from another model?)",
            key, shape_str(value.shape()), index, shape_str(p.shape()));
      }
      if (value.dtype() != kFloat32 && value.dtype() != kFloat64) {
        fail("optimizer load_state_dict: '{}' is {}, expected floating point", key,
             dtype_name(value.dtype()));
      }
      if (!all_finite(value)) fail("optimizer load_state_dict: '{}' holds NaN or inf", key);
      loaded[index][name] = value.to(p.dtype()).to(p.device()).clone();
    } else {
      fail(
          "optimizer load_state_dict: unexpected entry '{}' for an optimizer with {} groups and "
          "{} parameters (entries per parameter: {})",
          key, groups_.size(), params.size(), fmt::join(entries, ", "));
    }
  }
  for (size_t i = 0; i < loaded.size(); ++i) {
    if (loaded[i].empty() || loaded[i].size() == entries.size()) continue;
    for (const std::string& name : entries) {
      if (!loaded[i].contains(name)) {
        fail(
            "optimizer load_state_dict: parameter {} has {} of its {} entries; 'state.{}.{}' is "
            "missing",
            i, loaded[i].size(), entries.size(), i, name);
      }
    }
  }
  for (size_t g = 0; g < groups_.size(); ++g) {
    if (!lrs[g]) fail("optimizer load_state_dict: missing 'group.{}.lr'", g);
  }
  for (size_t g = 0; g < groups_.size(); ++g) {
    groups_[g].lr = *lrs[g];
    if (initial_lrs[g]) groups_[g].initial_lr = *initial_lrs[g];
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

std::vector<std::string> SGD::state_entries() const {
  if (options.momentum != 0) return {"momentum_buffer"};
  return {};
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

std::vector<std::string> Adam::state_entries() const {
  return {"step", "exp_avg", "exp_avg_sq"};
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
