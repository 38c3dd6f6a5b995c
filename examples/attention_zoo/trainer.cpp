// Trainer: one optimizer step at a time, and what is printed about it.
#include "examples/attention_zoo/trainer.hpp"

#include <fmt/format.h>

#include <cmath>

namespace zoo {

using namespace heed;

void check_finite_loss(const std::string& name, const Tensor& loss, int64_t epoch) {
  const double value = loss.item<double>();
  if (!std::isfinite(value)) {
    fail("{}: the loss became {} in epoch {}; try a smaller --lr", name, value, epoch);
  }
}

Trainer::Trainer(TrainerSettings settings)
    : settings_(std::move(settings)),
      optimizer_({{settings_.parameters, settings_.lr}}),
      schedule_(optimizer_, nn::warmup_cosine_lr(settings_.warmup_steps,
                                                 settings_.epochs * settings_.steps_per_epoch,
                                                 settings_.min_lr_factor)),
      start_(examples::Clock::now()) {}

void Trainer::step(const Tensor& loss, int64_t epoch) {
  check_finite_loss(settings_.name, loss, epoch);
  optimizer_.zero_grad();
  loss.backward();
  if (settings_.clip_norm > 0) nn::clip_grad_norm(settings_.parameters, settings_.clip_norm);
  optimizer_.step();
  schedule_.step();
  if (epoch != epoch_) epoch_ = epoch, steps_in_epoch_ = 0, loss_sum_ = 0;
  ++steps_in_epoch_;
  loss_sum_ += loss.item<double>();
  const bool epoch_done = steps_in_epoch_ == settings_.steps_per_epoch;
  if (!settings_.quiet && (steps_in_epoch_ % 20 == 0 || epoch_done)) {
    progress_.update(fmt::format("{}: epoch {}/{}  step {}/{}  loss {:.4f}  {}", settings_.name,
                                 epoch, settings_.epochs, steps_in_epoch_,
                                 settings_.steps_per_epoch, loss_sum_ / double(steps_in_epoch_),
                                 examples::format_duration(examples::seconds_since(start_))));
  }
}

}  // namespace zoo
