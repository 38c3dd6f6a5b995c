// The optimizer's side of the zoo's training loops, so that each loop reads as batch -> loss ->
// trainer.step(loss): Adam, a linear warmup and cosine decay of the learning rate, optional
// gradient clipping, a stop on a loss that is no longer finite, and a progress line.
#pragma once

#include <string>
#include <vector>

#include "examples/common/progress.hpp"
#include "nn/nn.hpp"

namespace zoo {

struct TrainerSettings {
  std::string name;  // the subcommand, first on the progress line and in errors
  std::vector<heed::Tensor> parameters;
  double lr = 1e-3;
  int64_t epochs = 1, steps_per_epoch = 1;
  int64_t warmup_steps = 0;    // steps of linear warmup before the cosine decay
  double min_lr_factor = 0.1;  // the decay ends at lr * min_lr_factor
  double clip_norm = 0;        // 0: no clipping
  bool quiet = false;
};

// heed::Error when `loss` is not finite (NaN or infinite): the run stops with one line.
void check_finite_loss(const std::string& name, const heed::Tensor& loss, int64_t epoch);

class Trainer {
 public:
  explicit Trainer(TrainerSettings settings);
  // One optimizer step on `loss` (a scalar of this step's graph) in `epoch`, counted from 1.
  void step(const heed::Tensor& loss, int64_t epoch);
  // Ends the progress line; call before printing results.
  void finish() { progress_.break_line(); }

 private:
  TrainerSettings settings_;
  heed::nn::Adam optimizer_;
  heed::nn::LRScheduler schedule_;
  examples::ProgressLine progress_;
  examples::Clock::time_point start_;
  int64_t epoch_ = 0, steps_in_epoch_ = 0;
  double loss_sum_ = 0;  // of this epoch's steps
};

}  // namespace zoo
