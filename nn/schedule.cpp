// Learning-rate schedules (constant, step, warmup then cosine) and the scheduler that applies one.
#include "nn/schedule.hpp"

#include <cmath>
#include <numbers>

namespace heed::nn {

LRFactor constant_lr() {
  return [](int64_t) { return 1.0; };
}

LRFactor step_lr(int64_t step_size, double gamma) {
  if (step_size < 1) fail("step_lr: step_size must be >= 1, got {}", step_size);
  return [=](int64_t step) { return std::pow(gamma, double(step / step_size)); };
}

LRFactor warmup_cosine_lr(int64_t warmup_steps, int64_t total_steps, double min_factor) {
  if (warmup_steps < 0 || total_steps < 1 || warmup_steps > total_steps) {
    fail(
        "warmup_cosine_lr: need 0 <= warmup_steps <= total_steps and total_steps >= 1, got {} "
        "and {}",
        warmup_steps, total_steps);
  }
  return [=](int64_t step) {
    if (step < warmup_steps) return double(step + 1) / double(warmup_steps);
    if (step >= total_steps) return min_factor;
    const double progress =
        double(step - warmup_steps) / double(std::max<int64_t>(total_steps - warmup_steps, 1));
    // cosine from 1 down to min_factor as progress goes 0 -> 1
    return min_factor + (1.0 - min_factor) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
  };
}

LRScheduler::LRScheduler(Optimizer& optimizer, LRFactor factor, int64_t start_step)
    : optimizer_(optimizer), factor_(std::move(factor)), step_(start_step) {
  for (ParamGroup& group : optimizer_.param_groups()) {
    if (group.initial_lr < 0) group.initial_lr = group.lr;
    base_lrs_.push_back(group.initial_lr);
  }
  apply();
}

void LRScheduler::step() {
  ++step_;
  apply();
}

void LRScheduler::apply() {
  const double factor = factor_(step_);
  auto& groups = optimizer_.param_groups();
  for (size_t g = 0; g < groups.size(); ++g) groups[g].lr = base_lrs_[g] * factor;
}

}  // namespace heed::nn
