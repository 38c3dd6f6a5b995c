// Training the translator: data (a Tatoeba file, or the built-in date task), the loop with its
// progress lines, checkpoints that resume exactly, and a held-out evaluation at the end.
#pragma once

#include <optional>
#include <string>

#include "examples/bahdanau/data.hpp"
#include "examples/bahdanau/evaluate.hpp"
#include "examples/bahdanau/model.hpp"

namespace bahdanau {

// Unset values take the defaults of the data: d2l's classic configuration for a Tatoeba file
// (its first 600 pairs, nothing held out, 250 epochs), and without --data a configuration that
// learns the date task in well under a minute.
struct TrainOptions {
  std::string data;                     // tab-separated pairs; empty: the date task
  std::optional<int64_t> num_examples;  // the first N pairs only (d2l: 600); 0: all
  bool strict = false;                  // malformed lines are errors instead of skipped
  std::optional<double> val_fraction;   // of the pairs, held out for evaluation (d2l: none)
  int64_t min_freq = 2;
  int64_t date_pairs = 20000, date_held_out = 1000;  // the date task's sizes
  std::optional<int64_t> num_steps, embed_size, num_hiddens, num_layers, epochs, batch_size;
  std::optional<double> dropout, lr;
  bool bidirectional = false;
  std::string attention = "additive";
  double grad_clip = 1.0;
  // mean: the cross-entropy averaged over valid target tokens. d2l: what d2l's training loop
  // differentiates, each sentence's masked loss summed and divided by num_steps, summed over the
  // batch (the same gradient direction, larger by valid tokens / num_steps, so clipping at 1
  // acts on almost every step). See README.md.
  std::string loss = "mean";
  int64_t log_every = 0;          // batches between progress lines; 0: one per epoch
  int64_t checkpoint_every = 10;  // epochs
  std::string checkpoint = "runs/bahdanau.safetensors";
  bool resume = false;
  int64_t stop_at_epoch = 0;  // > 0: stop after this epoch with a checkpoint, as if interrupted
  std::string plot_loss;      // PNG or SVG: the loss curve, redrawn at every checkpoint
  std::string metrics;        // JSON lines: every step's loss, gradient norm, tokens and time
  uint64_t seed = 0;
  std::string device = "cpu";  // cpu | cuda | cuda:N
  bool no_final_eval = false;  // skip the evaluation after training
  EvalOptions eval;
};

// The range of every numeric training flag: shown by --help, checked before any work (the
// model's sizes are in bahdanau::limits, model.hpp). Settings read back from a checkpoint are
// held to the same ranges.
namespace train_limits {
inline constexpr examples::IntRange num_examples{0, 1'000'000'000};
inline constexpr examples::RealRange val_fraction{0, 1, false, true};
inline constexpr examples::IntRange min_freq{1, 1'000'000'000};
inline constexpr examples::IntRange date_pairs{1, 10'000'000};
inline constexpr examples::IntRange date_held_out{0, 1'000'000};
inline constexpr examples::IntRange epochs{1, 1'000'000};
inline constexpr examples::IntRange batch_size{1, 65536};
// lr: any positive size; one that makes training diverge is stopped by the NaN check.
inline constexpr examples::RealRange lr{0, 1e6, true, false};
inline constexpr examples::RealRange grad_clip{0, 1e6};
inline constexpr examples::IntRange log_every{0, 1'000'000'000};
inline constexpr examples::IntRange checkpoint_every{1, 1'000'000};
inline constexpr examples::IntRange stop_at_epoch{0, 1'000'000};
}  // namespace train_limits

struct TrainResult {
  double final_loss = 0;  // mean per-token loss of the last epoch
  double tokens_per_second = 0;
  EvalResult held_out;  // count 0 when nothing was held out
};

TrainResult train(const TrainOptions& options);

// What the optimizer differentiates, from the mean loss per valid token: itself ("mean"), or
// d2l's objective ("d2l"), the mean times the batch's valid tokens / num_steps.
Tensor training_objective(const Tensor& mean_loss, const Tensor& valid_lens, int64_t num_steps,
                          const std::string& kind);

// The held-out pairs a checkpoint was evaluated on: regenerated for the date task, re-read and
// re-split for a file (from `data_override` when the file has moved).
std::vector<SentencePair> held_out_pairs(const heed::nn::Metadata& metadata,
                                         const std::string& data_override);

}  // namespace bahdanau
