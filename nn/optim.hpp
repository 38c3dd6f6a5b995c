// Optimizers: SGD (momentum, Nesterov, weight decay), Adam and AdamW, following PyTorch's update
// rules step for step, so the same gradients give the same parameters. Parameters are split
// into groups with their own lr and weight decay (e.g. no decay on biases and LayerNorm gains).
//
// Updates run under NoGradGuard and write into the parameters in place, so every module
// holding a parameter sees the new values.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "nn/module.hpp"

namespace heed::nn {

struct ParamGroup {
  std::vector<Tensor> params;
  double lr = 1e-3;
  double weight_decay = 0.0;
  // The lr a schedule scales (set by LRScheduler, as PyTorch's "initial_lr"); saved with the
  // optimizer so a resumed schedule continues from the same base. Negative until scheduled.
  double initial_lr = -1.0;
};

// Two groups, as GPT-2 and minGPT train: weight decay on matrices (dim >= 2: Linear and
// embedding weights), none on vectors (biases, LayerNorm weights).
std::vector<ParamGroup> decay_and_no_decay_groups(const Module& module, double lr,
                                                  double weight_decay);

class Optimizer {
 public:
  explicit Optimizer(std::vector<ParamGroup> groups);
  virtual ~Optimizer() = default;
  virtual void step() = 0;
  void zero_grad();
  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }

  // Everything needed to continue exactly: per-parameter state ("state.3.exp_avg", ...) and each
  // group's lr and initial_lr ("group.0.lr"), as tensors, ready for a safetensors file. Loading
  // checks everything before changing anything: every key canonical and known, each
  // parameter's entries complete (all of state_entries(), or none for a parameter never
  // stepped), shaped like the parameter, finite, and `step` a whole number in [0, 2^53].
  StateDict state_dict() const;
  void load_state_dict(const StateDict& state);
  // The entries this optimizer keeps for a parameter once it has stepped it.
  virtual std::vector<std::string> state_entries() const = 0;

 protected:
  using ParameterState = std::map<std::string, Tensor>;
  // Calls update(p, p's gradient, p's group, p's state) for every parameter that has a
  // gradient, under NoGradGuard: the loop every optimizer's step() shares.
  void for_each_update(const std::function<void(Tensor&, const Tensor&, const ParamGroup&,
                                                ParameterState&)>& update);
  std::vector<ParamGroup> groups_;

 private:
  std::vector<ParameterState> state_;  // one per parameter, counting through the groups
};

struct SGDOptions {
  double momentum = 0.0;
  double dampening = 0.0;
  bool nesterov = false;
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<ParamGroup> groups, SGDOptions options = {});
  void step() override;
  std::vector<std::string> state_entries() const override;
  SGDOptions options;
};

struct AdamOptions {
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
};

// Adam: weight decay is added to the gradient (L2 regularisation), as torch.optim.Adam.
class Adam : public Optimizer {
 public:
  Adam(std::vector<ParamGroup> groups, AdamOptions options = {});
  void step() override;
  std::vector<std::string> state_entries() const override;
  AdamOptions options;

 protected:
  Adam(std::vector<ParamGroup> groups, AdamOptions options, bool decoupled);

 private:
  bool decoupled_weight_decay_;
};

// AdamW: weight decay shrinks the parameters directly, p -= lr * wd * p, outside the adaptive
// step (Loshchilov and Hutter), as torch.optim.AdamW.
class AdamW : public Adam {
 public:
  AdamW(std::vector<ParamGroup> groups, AdamOptions options = {});
};

// Scales all gradients so that their joint L2 norm is at most max_norm; returns the norm before
// clipping (as torch.nn.utils.clip_grad_norm_). Parameters without a gradient are skipped.
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm);

}  // namespace heed::nn
