// Training the GPT example: the loop, its progress lines, evaluation and checkpoints.
#pragma once

#include <optional>
#include <string>

#include "examples/gpt/model.hpp"
#include "examples/gpt/tasks.hpp"

namespace gpt {

struct TrainOptions {
  std::string task = "addition";  // addition | sort | text (set by --data)
  std::string data;               // a UTF-8 file for character-level modelling
  // A Hugging Face GPT-2 folder to fine-tune on `data` (nanoGPT's init_from): its config,
  // weights and byte-level BPE replace the preset and the characters.
  std::string init_from;
  int64_t digits = 2;  // addition
  std::string preset = "nano";
  std::optional<int64_t> n_layer, n_head, n_embd, block_size;
  double dropout = 0.0;
  bool tie_weights = false;
  int64_t batch_size = 64;
  int64_t steps = 4000;
  double lr = 1e-3;
  int64_t warmup = 100;
  double min_lr_factor = 0.1;
  double weight_decay = 0.1;
  double grad_clip = 1.0;
  int64_t eval_interval = 250;
  int64_t eval_batches = 8;
  int64_t log_interval = 50;
  std::string checkpoint = "runs/gpt.safetensors";
  bool resume = false;
  int64_t stop_at = 0;  // > 0: stop after this step with a checkpoint, as an interrupted run would
  std::string plot_loss;  // PNG or SVG: the loss curves, rewritten at every evaluation
  std::string metrics;    // JSON lines: every step's loss, lr, gradient norm, tokens and time
  // Data-parallel jobs (mpirun): the gradient buckets' size, and whether their allreduces start
  // during backward (--no-overlap waits until it ends, to measure what the overlap saves).
  double bucket_mb = 4;
  bool overlap = true;
  uint64_t seed = 1337;
  std::string device = "cpu";  // cpu | cuda | cuda:N
};

// The range of every numeric training flag: shown by --help, checked before any work (the
// model's sizes are in gpt::limits, model.hpp).
namespace train_limits {
inline constexpr examples::IntRange digits{1, 6};
inline constexpr examples::IntRange batch_size{1, 65536};
inline constexpr examples::IntRange steps{1, 1'000'000'000};
inline constexpr examples::IntRange warmup{0, 1'000'000'000};
inline constexpr examples::IntRange interval{1, 1'000'000'000};  // --eval- and --log-interval
inline constexpr examples::IntRange eval_batches{1, 100'000};
inline constexpr examples::IntRange stop_at{0, 1'000'000'000};
// lr: any positive size; one that makes training diverge is stopped by the NaN check.
inline constexpr examples::RealRange lr{0, 1e6, true, false};
inline constexpr examples::RealRange min_lr_factor{0, 1};
inline constexpr examples::RealRange weight_decay{0, 100};
inline constexpr examples::RealRange grad_clip{0, 1e6};
inline constexpr examples::RealRange bucket_mb{0, 1024, true, false};
}  // namespace train_limits

// Trains, printing progress, evaluating and checkpointing; at the end reports held-out
// accuracy (addition, sort) or a sample of text. Returns the final validation loss.
double train(const TrainOptions& options);

// The task a checkpoint's metadata (or the options) describe.
std::unique_ptr<Task> make_task(const std::string& name, const std::string& data, int64_t digits,
                                int64_t block_size, const Vocabulary* vocabulary, uint64_t seed);

// Greedy exact-match accuracy on the held-out set of an addition or sort task; prints
// `examples` worked examples.
double exact_match_accuracy(GPT& model, const Task& task, int64_t examples);

}  // namespace gpt
