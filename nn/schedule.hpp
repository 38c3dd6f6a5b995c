// Learning-rate schedules. A schedule is a factor of each group's base lr as a function of the
// step; LRScheduler applies it to an optimizer. step() is called once per optimizer step, after
// it, as in PyTorch.
#pragma once

#include <functional>
#include <vector>

#include "nn/optim.hpp"

namespace heed::nn {

using LRFactor = std::function<double(int64_t step)>;

LRFactor constant_lr();
// gamma^(step / step_size): multiply by gamma every step_size steps.
LRFactor step_lr(int64_t step_size, double gamma);
// Linear warmup from 0 to 1 over warmup_steps, then a cosine decay to min_factor at total_steps,
// flat after that.
LRFactor warmup_cosine_lr(int64_t warmup_steps, int64_t total_steps, double min_factor = 0.1);

class LRScheduler {
 public:
  // The base of each group is its initial_lr when set (a resumed optimizer), else its current lr
  // (which then becomes its initial_lr). Sets lr = base * factor(start_step) right away.
  LRScheduler(Optimizer& optimizer, LRFactor factor, int64_t start_step = 0);
  void step();  // advances one step and sets the new lrs
  int64_t last_step() const { return step_; }
  double lr(size_t group = 0) const { return optimizer_.param_groups().at(group).lr; }

 private:
  void apply();
  Optimizer& optimizer_;
  LRFactor factor_;
  std::vector<double> base_lrs_;
  int64_t step_;
};

}  // namespace heed::nn
