#include "examples/bahdanau/train.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "engine/io/file_lock.hpp"
#include "engine/io/json_reader.hpp"
#include "examples/bahdanau/dates.hpp"
#include "examples/bahdanau/translator.hpp"
#include "examples/common/device_option.hpp"
#include "examples/common/job.hpp"
#include "examples/common/line_plot.hpp"
#include "examples/common/progress.hpp"
#include "nn/distributed.hpp"

namespace bahdanau {

using namespace heed;
namespace distributed = heed::nn::distributed;
using examples::Clock;
using examples::format_duration;
using examples::seconds_since;

namespace {

// Every setting of a run once the defaults are filled in; saved in the checkpoint so --resume
// rebuilds the same data and continues the same schedule.
struct RunSettings {
  std::string data;
  int64_t num_examples = 0, min_freq = 2, date_pairs = 0, date_held_out = 0;
  bool strict = false;
  double val_fraction = 0;
  int64_t num_steps = 10, epochs = 0, batch_size = 64;
  double lr = 0.005, grad_clip = 1;
  std::string loss = "mean";
  uint64_t seed = 0;

  nlohmann::json to_json() const {
    return {{"data", data},
            {"num_examples", num_examples},
            {"min_freq", min_freq},
            {"date_pairs", date_pairs},
            {"date_held_out", date_held_out},
            {"strict", strict},
            {"val_fraction", val_fraction},
            {"num_steps", num_steps},
            {"epochs", epochs},
            {"batch_size", batch_size},
            {"lr", lr},
            {"grad_clip", grad_clip},
            {"loss", loss},
            {"seed", seed}};
  }
  static RunSettings from_json(const std::string& text, const std::string& where) {
    const std::string what = where + ": the training settings";
    const nlohmann::json j = parse_untrusted_json(text, what);
    RunSettings s;
    s.data = json_string(j, "data", what);
    s.num_examples = json_integer(j, "num_examples", what);
    s.min_freq = json_integer(j, "min_freq", what);
    s.date_pairs = json_integer(j, "date_pairs", what);
    s.date_held_out = json_integer(j, "date_held_out", what);
    s.strict = json_bool(j, "strict", what);
    s.val_fraction = json_number(j, "val_fraction", what);
    s.num_steps = json_integer(j, "num_steps", what);
    s.epochs = json_integer(j, "epochs", what);
    s.batch_size = json_integer(j, "batch_size", what);
    s.lr = json_number(j, "lr", what);
    s.grad_clip = json_number(j, "grad_clip", what);
    s.loss = j.contains("loss") ? json_string(j, "loss", what) : "mean";
    const int64_t seed = json_integer(j, "seed", what);
    examples::check_field(what, "seed", seed, examples::kSeedRange);
    s.seed = static_cast<uint64_t>(seed);
    s.validate(what);
    return s;
  }

  // The ranges of the flags these settings come from.
  void validate(const std::string& where) const {
    using examples::check_range;
    namespace l = train_limits;
    auto name = [&](const char* flag) { return where.empty() ? flag : where + ": " + flag; };
    check_range(name("--num-examples"), num_examples, l::num_examples);
    check_range(name("--min-freq"), min_freq, l::min_freq);
    if (data.empty()) {
      check_range(name("--date-pairs"), date_pairs, l::date_pairs);
      check_range(name("--date-held-out"), date_held_out, l::date_held_out);
    }
    check_range(name("--val-fraction"), val_fraction, l::val_fraction);
    check_range(name("--num-steps"), num_steps, limits::num_steps);
    check_range(name("--epochs"), epochs, l::epochs);
    check_range(name("--batch-size"), batch_size, l::batch_size);
    check_range(name("--lr"), lr, l::lr);
    check_range(name("--grad-clip"), grad_clip, l::grad_clip);
    if (loss != "mean" && loss != "d2l") {
      fail("{} must be mean or d2l, got {}", name("--loss"), printable(loss));
    }
  }
};

// Reads or generates every pair; for the date task the held-out pairs come separately.
TranslationData load_data(const RunSettings& s, const Vocab* source_vocab,
                          const Vocab* target_vocab, bool verbose) {
  if (s.data.empty()) {
    std::vector<SentencePair> train_pairs, held_out;
    date_pairs(s.date_pairs, s.date_held_out, s.seed, train_pairs, held_out);
    TranslationData data = build_data(std::move(train_pairs), Tokenizer::Dates, s.num_steps,
                                      s.min_freq, 0.0, s.seed, source_vocab, target_vocab);
    data.val_pairs = std::move(held_out);
    return data;
  }
  ReadResult read = read_pairs(s.data, {.num_examples = s.num_examples, .strict = s.strict});
  if (verbose && read.skipped > 0) {
    fmt::print("skipped {} malformed line{} of {} (the first: {}); --strict makes this an error\n",
               read.skipped, read.skipped == 1 ? "" : "s", s.data, read.first_problem);
  }
  return build_data(std::move(read.pairs), Tokenizer::Words, s.num_steps, s.min_freq,
                    s.val_fraction, s.seed, source_vocab, target_vocab);
}

RunSettings resolve(const TrainOptions& o) {
  const bool dates = o.data.empty();
  RunSettings s;
  s.data = o.data;
  s.num_examples = o.num_examples.value_or(dates ? 0 : 600);
  s.min_freq = o.min_freq, s.strict = o.strict;
  s.date_pairs = dates ? o.date_pairs : 0, s.date_held_out = dates ? o.date_held_out : 0;
  s.val_fraction = o.val_fraction.value_or(0.0);
  s.num_steps = o.num_steps.value_or(dates ? 12 : 10);
  s.epochs = o.epochs.value_or(dates ? 8 : 250);
  s.batch_size = o.batch_size.value_or(dates ? 128 : 64);
  s.lr = o.lr.value_or(0.005);
  s.grad_clip = o.grad_clip, s.loss = o.loss, s.seed = o.seed;
  if (dates && o.val_fraction) {
    fail("--val-fraction applies to --data; the date task holds out --date-held-out pairs");
  }
  if (dates && o.num_examples) fail("--num-examples applies to --data, not to the date task");
  examples::check_utf8(o.data, "the --data path (saved in the checkpoint's JSON metadata)");
  s.validate("");
  using examples::check_range;
  check_range("--log-every", o.log_every, train_limits::log_every);
  check_range("--checkpoint-every", o.checkpoint_every, train_limits::checkpoint_every);
  check_range("--stop-at-epoch", o.stop_at_epoch, {0, s.epochs});
  if (o.embed_size) check_range("--embed-size", *o.embed_size, limits::embed_size);
  if (o.num_hiddens) check_range("--num-hiddens", *o.num_hiddens, limits::num_hiddens);
  if (o.num_layers) check_range("--num-layers", *o.num_layers, limits::num_layers);
  if (o.dropout) check_range("--dropout", *o.dropout, limits::dropout);
  examples::check_output_file(o.checkpoint, "--checkpoint");
  if (!o.plot_loss.empty()) examples::check_output_file(o.plot_loss, "--plot-loss");
  if (!o.metrics.empty()) examples::check_output_file(o.metrics, "--metrics");
  if (!o.eval.heatmap_dir.empty())
    examples::check_output_directory(o.eval.heatmap_dir, "--heatmaps");
  return s;
}

Seq2SeqConfig model_config(const TrainOptions& o, const TranslationData& data) {
  const bool dates = o.data.empty();
  Seq2SeqConfig c;
  c.source_vocab = data.source_vocab.size(), c.target_vocab = data.target_vocab.size();
  c.embed_size = o.embed_size.value_or(32);
  c.num_hiddens = o.num_hiddens.value_or(dates ? 64 : 32);
  c.num_layers = o.num_layers.value_or(dates ? 1 : 2);
  c.dropout = o.dropout.value_or(dates ? 0.0 : 0.1);
  c.bidirectional = o.bidirectional;
  c.attention = o.attention;
  return c;
}

// One step's loss. `mean` is the cross-entropy per valid target token of the whole global batch
// (`batch`: its rows of the training set); `objective` is what this rank calls backward on,
// computed from its own rows (undefined when a short last batch leaves it none).
struct StepLoss {
  distributed::GlobalMean mean;
  Tensor objective;
};

StepLoss step_loss(Seq2Seq& model, const Encoded& source, const Encoded& target,
                   const std::vector<int64_t>& batch, const RunSettings& settings) {
  const auto [begin, end] = distributed::shard(int64_t(batch.size()));
  const int64_t size = end - begin, T = settings.num_steps;
  if (size == 0) return {distributed::global_mean(Tensor(), 0), Tensor()};
  const Device device = source.tokens.device();
  const Tensor rows =  // (B,) this rank's rows of the training set
      int_tensor(std::vector<int64_t>(batch.begin() + begin, batch.begin() + end), {size})
          .to(device);
  const Tensor X = index_select(source.tokens, 0, rows);            // (B, T)
  const Tensor X_valid = index_select(source.valid_lens, 0, rows);  // (B,)
  const Tensor Y = index_select(target.tokens, 0, rows);            // (B, T)
  const Tensor Y_valid = index_select(target.valid_lens, 0, rows);  // (B,)
  // Teacher forcing: the decoder reads <bos> and the target shifted right by one.
  const Tensor bos = full({size, 1}, double(Vocab::bos), {kInt64, device});  // (B, 1)
  const Tensor decoder_inputs = cat({bos, Y.narrow(1, 0, T - 1)}, 1);        // (B, T)

  const Tensor logits = model.forward(X, decoder_inputs, X_valid);     // (B, T, V)
  const Tensor loss = nn::sequence_cross_entropy(logits, Y, Y_valid);  // per valid token
  // The mean over the global batch's valid tokens, whichever rank holds them.
  const distributed::GlobalMean mean = distributed::global_mean(loss, Y_valid.sum().item());
  if (settings.loss == "mean") return {mean, mean.objective};
  // d2l's objective is a sum over sentences: this rank's part, times N against the data-parallel
  // average over ranks.
  const double ranks = distributed::world_size();
  return {mean, training_objective(loss, Y_valid, T, settings.loss) * ranks};
}

}  // namespace

Tensor training_objective(const Tensor& mean_loss, const Tensor& valid_lens, int64_t num_steps,
                          const std::string& kind) {
  if (kind == "mean") return mean_loss;
  if (kind != "d2l") fail("--loss must be mean or d2l, got '{}'", kind);
  // sum over sentences of (masked loss sum / num_steps) = mean loss * valid tokens / num_steps
  return mean_loss * (valid_lens.sum().to(mean_loss.dtype()) / double(num_steps));
}

std::vector<SentencePair> held_out_pairs(const nn::Metadata& metadata,
                                         const std::string& data_override) {
  if (!metadata.contains("training")) fail("the checkpoint holds no training settings");
  RunSettings s = RunSettings::from_json(metadata.at("training"), "the checkpoint");
  if (!data_override.empty()) s.data = data_override;
  return load_data(s, nullptr, nullptr, /*verbose=*/false).val_pairs;
}

TrainResult train(const TrainOptions& o) {
  RunSettings settings = resolve(o);
  Seq2SeqConfig config;
  int64_t start_epoch = 0;
  std::optional<Vocab> saved_source, saved_target;
  // Held for the whole run by the rank that writes it: a second run writing the same checkpoint
  // stops here.
  std::optional<FileLock> lock;
  if (distributed::is_main_process()) lock.emplace(o.checkpoint);
  if (o.resume) {
    const nn::Metadata m = nn::read_checkpoint_metadata(o.checkpoint);
    if (!m.contains("training") || !m.contains("epoch") || !m.contains("config")) {
      fail("{} cannot be resumed: it is not a training checkpoint of bahdanau", o.checkpoint);
    }
    const int64_t epochs = settings.epochs;
    settings = RunSettings::from_json(m.at("training"), o.checkpoint);
    if (o.epochs) settings.epochs = epochs;  // a resumed run may be extended
    config = Seq2SeqConfig::from_json(m.at("config"), o.checkpoint);
    saved_source = vocab_from_metadata(m, "source_vocab", o.checkpoint);
    saved_target = vocab_from_metadata(m, "target_vocab", o.checkpoint);
    start_epoch =
        examples::parse_whole_number(m.at("epoch"), o.checkpoint + ": epoch", {0, settings.epochs});
  }
  examples::check_global_batch(settings.batch_size, o.resume ? " (the checkpoint's)" : "");
  manual_seed(settings.seed);
  const TranslationData data = load_data(settings, o.resume ? &*saved_source : nullptr,
                                         o.resume ? &*saved_target : nullptr, !o.resume);
  if (!o.resume) config = model_config(o, data);
  // Every rank read --data itself: the same pairs on every machine, or an error naming the rank.
  examples::check_same_data({data.train_source.tokens, data.train_target.tokens});

  const Device device = examples::parse_device(o.device);
  auto model_owner = std::make_unique<Seq2Seq>(config);
  Seq2Seq& model = *model_owner;
  xavier_init(model);
  model.to(device);  // before the optimizer, whose state follows the parameters' device
  nn::Adam optimizer({{model.parameters(), settings.lr}});
  if (o.resume) {
    nn::load_checkpoint(o.checkpoint, model, &optimizer);
    // Every rank read the file: a stale copy on one machine is an error here, not a silent fork.
    distributed::check_replicas_identical(model.parameters(), "after loading the checkpoint");
  }
  // Averages gradients across the job's ranks during backward (nothing to do for one process).
  distributed::DataParallel data_parallel(model);

  const int64_t N = data.train_source.tokens.size(0);
  const int64_t batches_per_epoch = (N + settings.batch_size - 1) / settings.batch_size;
  fmt::print(
      "bahdanau: {} training pairs, {} held out ({}); vocabularies {} -> {}; {} parameters "
      "({} attention, embed {}, hidden {}, {} layer{}{}); {}; {} epochs of {} batches{}{}\n",
      N, data.val_pairs.size(), o.data.empty() ? "the date task" : o.data, data.source_vocab.size(),
      data.target_vocab.size(), model.num_parameters(), config.attention, config.embed_size,
      config.num_hiddens, config.num_layers, config.num_layers == 1 ? "" : "s",
      config.bidirectional ? ", bidirectional encoder" : "", examples::describe_device(device),
      settings.epochs, batches_per_epoch,
      distributed::world_size() == 1
          ? ""
          : fmt::format(" split among {} ranks", distributed::world_size()),
      o.resume ? fmt::format(", resuming after epoch {}", start_epoch) : "");

  nn::Metadata metadata = translator_metadata(config, data.source_vocab, data.target_vocab,
                                              data.tokenizer, settings.num_steps);
  metadata["training"] = settings.to_json().dump();
  examples::Series losses{"training loss (per token)", {}, {}};
  std::optional<int64_t> saved_epoch;  // of the checkpoint on disk from this run (or resumed)
  if (o.resume) saved_epoch = start_epoch;
  auto save = [&](int64_t epoch) {
    distributed::check_replicas_identical(model.parameters(), fmt::format("after epoch {}", epoch));
    saved_epoch = epoch;
    metadata["epoch"] = std::to_string(epoch);
    if (!distributed::is_main_process()) return;
    nn::save_checkpoint(o.checkpoint, model, &optimizer, metadata);
    if (!o.plot_loss.empty() && !losses.x.empty()) {
      examples::write_line_plot(o.plot_loss, "bahdanau training", "epoch", "cross-entropy",
                                {losses});
    }
  };

  examples::ProgressLine progress;
  examples::MetricsLog metrics(
      o.metrics, o.resume ? std::optional<int64_t>(start_epoch * batches_per_epoch) : std::nullopt);
  const auto start = Clock::now();
  double train_seconds = 0, tokens_total = 0, epoch_loss = NAN;
  // The whole training set moves to the device once; batches are gathered there.
  const Encoded source{data.train_source.tokens.to(device),
                       data.train_source.valid_lens.to(device)};
  const Encoded target{data.train_target.tokens.to(device),
                       data.train_target.valid_lens.to(device)};
  for (int64_t epoch = start_epoch; epoch < settings.epochs; ++epoch) {
    const auto epoch_start = Clock::now();
    const std::vector<int64_t> order = permutation(N, default_generator());
    double loss_sum = 0, tokens = 0;
    for (int64_t b = 0; b < batches_per_epoch; ++b) {
      const auto step_start = Clock::now();
      const int64_t step = epoch * batches_per_epoch + b + 1;  // optimizer steps, counted from 1
      examples::inject_fault_if_asked(step);
      // The global batch is the same on every rank; each rank trains on its own rows of it.
      const int64_t first = b * settings.batch_size;
      const std::vector<int64_t> batch(order.begin() + first,
                                       order.begin() + std::min(N, first + settings.batch_size));
      optimizer.zero_grad();
      StepLoss loss;
      {
        const examples::RankDropoutStream own_dropout(settings.seed, step);
        loss = step_loss(model, source, target, batch, settings);
        if (loss.objective.defined()) loss.objective.backward();
      }
      data_parallel.synchronize_gradients();  // every rank now holds the global batch's gradient
      // The norm is taken even without clipping (an infinite bound never scales), to catch NaN.
      const double grad_norm = nn::clip_grad_norm(
          model.parameters(), settings.grad_clip > 0 ? settings.grad_clip : INFINITY);
      examples::stop_if_diverged(loss.mean.value, grad_norm,
                                 fmt::format("epoch {}, batch {}", epoch + 1, b + 1),
                                 examples::kept_checkpoint(saved_epoch, "epoch", o.checkpoint));
      optimizer.step();
      loss_sum += loss.mean.value * loss.mean.count;
      tokens += loss.mean.count;
      metrics.write({{"step", step},
                     {"epoch", epoch + 1},
                     {"batch", b + 1},
                     {"loss", loss.mean.value},
                     {"grad_norm", grad_norm},
                     {"tokens", int64_t(loss.mean.count)},
                     {"seconds", seconds_since(step_start)}});
      if (o.log_every > 0 && (b + 1) % o.log_every == 0 && b + 1 < batches_per_epoch) {
        progress.update(fmt::format("epoch {:>4}/{}  batch {}/{}  loss {:.4f}  {:>7.0f} tok/s",
                                    epoch + 1, settings.epochs, b + 1, batches_per_epoch,
                                    loss_sum / tokens, tokens / seconds_since(epoch_start)));
      }
    }
    const double seconds = seconds_since(epoch_start);
    train_seconds += seconds, tokens_total += tokens;
    epoch_loss = loss_sum / tokens;
    losses.x.push_back(double(epoch + 1)), losses.y.push_back(epoch_loss);
    const double elapsed = seconds_since(start);
    const double eta =
        elapsed / double(epoch + 1 - start_epoch) * double(settings.epochs - epoch - 1);
    progress.update(fmt::format("epoch {:>4}/{}  loss {:.4f}  {:>7.0f} tok/s  {}elapsed {}  eta {}",
                                epoch + 1, settings.epochs, epoch_loss, tokens / seconds,
                                examples::peak_memory(device), format_duration(elapsed),
                                format_duration(eta)));
    const int64_t done = epoch + 1;
    const bool stopping = o.stop_at_epoch > 0 && done == o.stop_at_epoch;
    if (done % o.checkpoint_every == 0 || done == settings.epochs || stopping) save(done);
    if (stopping) {
      progress.break_line();
      fmt::print("stopped after epoch {} as asked; continue with --resume\n", done);
      return {epoch_loss, tokens_total / train_seconds, {}};
    }
  }
  progress.break_line();
  TrainResult result{epoch_loss, tokens_total / std::max(train_seconds, 1e-9), {}};
  fmt::print("trained in {} ({:.0f} target tokens/s); checkpoint {}\n",
             format_duration(seconds_since(start)), result.tokens_per_second, o.checkpoint);

  if (o.no_final_eval) return result;
  // Evaluate as `bahdanau eval` would: on the held-out pairs, or on the training pairs.
  Translator translator{std::move(model_owner), data.source_vocab,  data.target_vocab,
                        data.tokenizer,         settings.num_steps, metadata};
  const bool held_out = !data.val_pairs.empty();
  const std::vector<SentencePair>& pairs = held_out ? data.val_pairs : data.train_pairs;
  fmt::print("{}:\n", held_out ? "held-out pairs" : "training pairs (nothing was held out)");
  const EvalResult r = evaluate(translator, pairs, o.eval);
  fmt::print("{}\n", summary(r));
  if (held_out) result.held_out = r;
  return result;
}

}  // namespace bahdanau
