#include "examples/gpt/train.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "engine/io/file_lock.hpp"
#include "examples/common/device_option.hpp"
#include "examples/common/job.hpp"
#include "examples/common/line_plot.hpp"
#include "examples/common/progress.hpp"
#include "examples/gpt/generate.hpp"
#include "examples/gpt/pretrained.hpp"
#include "nn/distributed.hpp"

namespace gpt {

using namespace heed;
namespace distributed = heed::nn::distributed;
using examples::Clock;
using examples::format_duration;
using examples::seconds_since;

std::unique_ptr<Task> make_task(const std::string& name, const std::string& data, int64_t digits,
                                int64_t block_size, const Vocabulary* vocabulary, uint64_t seed) {
  if (!data.empty()) return std::make_unique<TextTask>(data, block_size, vocabulary);
  if (name == "addition") return std::make_unique<AdditionTask>(digits, seed);
  if (name == "sort") return std::make_unique<SortTask>(6, 3);
  fail("unknown task '{}' (expected addition or sort, or --data FILE)", name);
}

namespace {

// This rank's rows of a global batch (all of them in a job of one process).
Batch local_rows(const Batch& batch) {
  const auto [begin, end] = distributed::shard(batch.inputs.size(0));
  return {batch.inputs.narrow(0, begin, end - begin), batch.targets.narrow(0, begin, end - begin)};
}

// The mean cross-entropy of a global batch over its scored targets, each rank computing its own
// rows; `objective` is what this rank calls backward on (see distributed::global_mean).
distributed::GlobalMean batch_loss(GPT& model, const Batch& batch) {
  const Batch mine = local_rows(batch);
  const Device device = examples::device_of(model);
  const Tensor targets = mine.targets.to(device).reshape({-1});  // (b*T,)
  Tensor local_mean;  // () the mean over this rank's scored targets; undefined without rows
  double scored = 0;
  if (mine.inputs.size(0) > 0) {
    const Tensor logits = model.forward(mine.inputs.to(device));  // (b, T, V)
    local_mean = nn::cross_entropy(logits.reshape({-1, logits.size(2)}), targets);
    const double ignored = double(nn::CrossEntropyLossOptions{}.ignore_index);  // not scored
    scored = ne(targets, full_like(targets, ignored)).to(kInt64).sum().item();
  }
  return distributed::global_mean(local_mean, scored);
}

// Mean loss over a few batches, without dropout or gradients; every rank scores its rows of each.
double evaluate(GPT& model, const Task& task, bool validation, int64_t batches, int64_t batch_size,
                Generator& generator) {
  NoGradGuard no_grad;
  model.eval();
  double total = 0;
  for (int64_t i = 0; i < batches; ++i) {
    total += batch_loss(model, task.batch(batch_size, validation, generator)).value;
  }
  model.train();
  return total / double(batches);
}

// The peak that model FLOPs utilisation is measured against: the best of three 2048^3 float32
// matrix products on every thread, after one to warm up (smaller products, such as 512^3, stay
// well below what OpenBLAS reaches here and made MFU read above 100%).
double measured_peak_flops() {
  const int64_t n = 2048;
  const Tensor a = ones({n, n}), b = ones({n, n});
  (void)mm(a, b);
  double best = 1e9;
  for (int i = 0; i < 3; ++i) {
    const auto start = Clock::now();
    (void)mm(a, b);
    best = std::min(best, seconds_since(start));
  }
  return 2.0 * double(n * n * n) / best;
}

}  // namespace

double exact_match_accuracy(GPT& model, const Task& task, int64_t examples) {
  Generator greedy(0);
  const SamplingOptions options{.max_new_tokens = 0, .temperature = 0};
  int64_t correct = 0, total = 0;
  // Each rank answers its share of every group of prompts; the counts are summed at the end.
  auto check = [&](const std::vector<std::vector<int64_t>>& all_prompts,
                   const std::vector<std::vector<int64_t>>& all_answers, auto describe) {
    const auto [begin, end] = distributed::shard(int64_t(all_prompts.size()));
    if (begin == end) return;
    const std::vector<std::vector<int64_t>> prompts(all_prompts.begin() + begin,
                                                    all_prompts.begin() + end);
    const std::vector<std::vector<int64_t>> answers(all_answers.begin() + begin,
                                                    all_answers.begin() + end);
    SamplingOptions o = options;
    o.max_new_tokens = static_cast<int64_t>(answers[0].size());
    const auto outputs = generate(model, prompts, o, greedy);
    for (size_t i = 0; i < prompts.size(); ++i) {
      const bool ok = outputs[i] == answers[i];
      correct += ok;
      if (total < examples)
        fmt::print("  {} {}\n", describe(prompts[i], outputs[i]), ok ? "ok" : "WRONG");
      ++total;
    }
  };
  if (const auto* addition = dynamic_cast<const AdditionTask*>(&task)) {
    const int64_t n = addition->digits();
    std::vector<std::vector<int64_t>> prompts, answers;
    for (const auto& [a, b] : addition->held_out()) {
      const std::vector<int64_t> s = addition->sequence(a, b);
      prompts.emplace_back(s.begin(), s.begin() + 2 * n);
      answers.emplace_back(s.begin() + 2 * n, s.end());
    }
    auto describe = [n](const std::vector<int64_t>& prompt, const std::vector<int64_t>& out) {
      int64_t a = 0, b = 0, sum = 0;
      for (int64_t i = 0; i < n; ++i)
        a = a * 10 + prompt[size_t(i)], b = b * 10 + prompt[size_t(n + i)];
      for (auto it = out.rbegin(); it != out.rend(); ++it) sum = sum * 10 + *it;
      return fmt::format("{} + {} = {}", a, b, sum);
    };
    for (size_t start = 0; start < prompts.size(); start += 250) {
      const size_t end = std::min(prompts.size(), start + 250);
      check({prompts.begin() + int64_t(start), prompts.begin() + int64_t(end)},
            {answers.begin() + int64_t(start), answers.begin() + int64_t(end)}, describe);
    }
  } else if (const auto* sort = dynamic_cast<const SortTask*>(&task)) {
    Generator held_out(99);
    const Batch batch = sort->batch(500, true, held_out);
    const int64_t length = sort->length();
    std::vector<std::vector<int64_t>> prompts, answers;
    for (int64_t r = 0; r < 500; ++r) {
      const std::vector<int64_t> row = batch.inputs.select(0, r).to_vector<int64_t>();
      const std::vector<int64_t> next = batch.targets.select(0, r).to_vector<int64_t>();
      prompts.emplace_back(row.begin(), row.begin() + length);
      answers.emplace_back(next.begin() + length - 1, next.end());
    }
    check(prompts, answers, [](const std::vector<int64_t>& p, const std::vector<int64_t>& o) {
      return fmt::format("sort {} -> {}", fmt::join(p, " "), fmt::join(o, " "));
    });
  } else {
    fail("exact-match accuracy needs the addition or sort task");
  }
  std::vector<double> counts{double(correct), double(total)};
  distributed::allreduce_sum(counts);
  return counts[0] / std::max(counts[1], 1.0);
}

namespace {

void check_options(const TrainOptions& o) {
  using examples::check_range;
  namespace l = train_limits;
  check_range("--digits", o.digits, l::digits);
  check_range("--batch-size", o.batch_size, l::batch_size);
  check_range("--steps", o.steps, l::steps);
  check_range("--warmup", o.warmup, l::warmup);
  check_range("--eval-interval", o.eval_interval, l::interval);
  check_range("--log-interval", o.log_interval, l::interval);
  check_range("--eval-batches", o.eval_batches, l::eval_batches);
  check_range("--lr", o.lr, l::lr);
  check_range("--min-lr-factor", o.min_lr_factor, l::min_lr_factor);
  check_range("--weight-decay", o.weight_decay, l::weight_decay);
  check_range("--grad-clip", o.grad_clip, l::grad_clip);
  check_range("--bucket-mb", o.bucket_mb, l::bucket_mb);
  check_range("--dropout", o.dropout, limits::dropout);
  if (o.n_layer) check_range("--n-layer", *o.n_layer, limits::n_layer);
  if (o.n_head) check_range("--n-head", *o.n_head, limits::n_head);
  if (o.n_embd) check_range("--n-embd", *o.n_embd, limits::n_embd);
  if (o.block_size) check_range("--block-size", *o.block_size, limits::block_size);
  check_range("--stop-at", o.stop_at, {0, o.steps});
  if (!o.init_from.empty()) {
    if (o.data.empty()) fail("--init-from needs --data FILE, the text to fine-tune on");
    if (o.n_layer || o.n_head || o.n_embd || o.tie_weights) {
      fail(
          "--init-from takes the model's shape from {}/config.json: drop --n-layer, --n-head, "
          "--n-embd and --tie-weights",
          o.init_from);
    }
  }
  examples::check_output_file(o.checkpoint, "--checkpoint");
  if (!o.plot_loss.empty()) examples::check_output_file(o.plot_loss, "--plot-loss");
  if (!o.metrics.empty()) examples::check_output_file(o.metrics, "--metrics");
}

}  // namespace

double train(const TrainOptions& o) {
  check_options(o);
  examples::ProgressLine progress;
  manual_seed(o.seed);
  GPTConfig config = GPTConfig::preset(o.preset);
  if (o.n_layer) config.n_layer = *o.n_layer;
  if (o.n_head) config.n_head = *o.n_head;
  if (o.n_embd) config.n_embd = *o.n_embd;
  if (o.block_size) config.block_size = *o.block_size;
  config.dropout = o.dropout;
  config.tie_weights = o.tie_weights;

  std::unique_ptr<Task> task;
  Vocabulary saved_vocabulary;
  std::optional<ByteLevelBPE> tokenizer;  // GPT-2's, when a pretrained model is fine-tuned
  int64_t start_step = 0;
  nn::Metadata resumed;
  // Held for the whole run by the rank that writes it: a second run writing the same checkpoint
  // stops here.
  std::optional<FileLock> lock;
  if (distributed::is_main_process()) lock.emplace(o.checkpoint);
  if (o.resume) {
    resumed = nn::read_checkpoint_metadata(o.checkpoint);
    config = GPTConfig::from_json(examples::metadata_entry(resumed, "config", o.checkpoint),
                                  o.checkpoint);
    if (resumed.count("tokenizer")) {
      tokenizer.emplace(
          ByteLevelBPE::from_json(resumed.at("tokenizer"), o.checkpoint + ": tokenizer"));
    } else {
      saved_vocabulary = Vocabulary::from_json(
          examples::metadata_entry(resumed, "vocabulary", o.checkpoint), o.checkpoint);
      if (saved_vocabulary.size() != config.vocab_size) {
        fail("{}: the vocabulary has {} characters but the model's vocab_size is {}", o.checkpoint,
             saved_vocabulary.size(), config.vocab_size);
      }
    }
    start_step =
        examples::parse_whole_number(examples::metadata_entry(resumed, "step", o.checkpoint),
                                     fmt::format("{}: step", o.checkpoint), {0, o.steps});
    // The batch is not part of the model, but an exact resume needs the same one (checkpoints
    // written before heed saved it carry none).
    if (resumed.count("batch_size")) {
      const int64_t trained = examples::parse_whole_number(
          resumed.at("batch_size"), fmt::format("{}: batch_size", o.checkpoint),
          train_limits::batch_size);
      if (trained != o.batch_size) {
        fail("{} was trained with --batch-size {}: give the same to resume it exactly, got {}",
             o.checkpoint, trained, o.batch_size);
      }
    }
  } else if (!o.init_from.empty()) {
    const std::string config_path = o.init_from + "/config.json";
    config =
        gpt2_config_from_json(examples::read_regular_file(config_path, "config.json"), config_path);
    config.dropout = o.dropout;
    tokenizer.emplace(ByteLevelBPE::from_folder(o.init_from));
  }
  if (tokenizer) {
    // GPT-2's tokens: sequences of --block-size tokens (default: the model's n_positions); a
    // resumed run keeps the length it was started with.
    if (o.data.empty()) fail("{} was fine-tuned from GPT-2: give --data FILE", o.checkpoint);
    int64_t context = o.block_size.value_or(config.block_size);
    if (o.resume) {
      context = examples::parse_whole_number(
          examples::metadata_entry(resumed, "context", o.checkpoint),
          fmt::format("{}: context", o.checkpoint), {1, config.block_size});
    }
    if (context > config.block_size) {
      fail("--block-size {} is longer than the model's {} positions", context, config.block_size);
    }
    task = std::make_unique<TextTask>(o.data, context, *tokenizer, config.vocab_size);
  } else {
    task = make_task(o.task, o.data, o.digits, config.block_size,
                     o.resume ? &saved_vocabulary : nullptr, o.seed);
    config.vocab_size = task->vocab_size();
  }
  if (o.data.empty()) {
    // A built-in task's sequences fix the context it needs; greedy exact match at the end feeds
    // the prompt and all but the last answer token, one more than training does.
    const int64_t needed = task->block_size() + (task->has_exact_answers() ? 1 : 0);
    if (o.block_size && *o.block_size < needed) {
      fail("--block-size {} is too short for the {} task, which needs {}", *o.block_size,
           task->name(), needed);
    }
    if (!o.resume) config.block_size = std::max(config.block_size, needed);
  }

  // Every rank read --data itself: the same file on every machine, or an error naming the rank.
  if (const auto* text = dynamic_cast<const TextTask*>(task.get())) {
    examples::check_same_data({text->ids()});
  }
  examples::check_global_batch(o.batch_size, "");
  const Device device = examples::parse_device(o.device);
  // A resumed or fine-tuned model gets every weight from a file: no random draws for it.
  std::optional<nn::init::SkipInitGuard> skip_init;
  if (o.resume || !o.init_from.empty()) skip_init.emplace();
  GPT model(config);
  skip_init.reset();
  if (!o.resume && !o.init_from.empty()) {
    load_gpt2_weights(model, o.init_from);
    empty_cpu_cache();  // the file's tensors were copied one by one: give their blocks back
  }
  model.to(device);  // before the optimizer, whose state follows the parameters' device
  nn::AdamW optimizer(nn::decay_and_no_decay_groups(model, o.lr, o.weight_decay),
                      {.beta1 = 0.9, .beta2 = 0.95});
  if (o.resume) {
    nn::load_checkpoint(o.checkpoint, model, &optimizer);
    // Every rank read the file: a stale copy on one machine is an error here, not a silent fork.
    distributed::check_replicas_identical(model.parameters(), "after loading the checkpoint");
  }
  // Averages gradients across the job's ranks during backward (nothing to do for one process).
  distributed::DataParallel data_parallel(
      model, {.bucket_bytes = std::max<int64_t>(1, int64_t(o.bucket_mb * (1 << 20))),
              .overlap = o.overlap});
  nn::LRScheduler schedule(
      optimizer, nn::warmup_cosine_lr(std::min(o.warmup, o.steps), o.steps, o.min_lr_factor),
      start_step);

  const int64_t tokens_per_step = o.batch_size * task->block_size();
  // Training FLOPs per token: 6 per parameter (forward and backward), plus attention's
  // 12 * layers * width * context.
  const double flops_per_token = 6.0 * double(model.num_parameters()) +
                                 12.0 * double(config.n_layer * config.n_embd * task->block_size());
  // MFU is measured against this CPU's own matrix-product peak; on a GPU it is not reported. A
  // window faster than the probe proves the probe low: the peak then rises to that window's rate,
  // so MFU never reads above 100%.
  // Every rank measures its own cores at once; the job's peak is their sum.
  double peak = device.is_cpu() ? distributed::allreduce_sum(measured_peak_flops()) : 0.0;
  fmt::print(
      "gpt: task {}{}, {} parameters ({} layers, {} heads, {} dims, block {}), {}, "
      "{} steps{}{}\n",
      task->name(),
      tokenizer ? fmt::format(" (GPT-2 BPE, {} tokens a sequence)", task->block_size()) : "",
      model.num_parameters(), config.n_layer, config.n_head, config.n_embd, config.block_size,
      examples::describe_device(device), o.steps,
      distributed::world_size() == 1
          ? ""
          : fmt::format(", {} ranks x {} rows", distributed::world_size(),
                        o.batch_size / distributed::world_size()),
      o.resume ? fmt::format(", resuming at step {}", start_step)
               : (o.init_from.empty() ? "" : fmt::format(", from {}", o.init_from)));

  std::optional<int64_t> saved_step;  // of the checkpoint on disk from this run (or resumed)
  if (o.resume) saved_step = start_step;
  // The tokens travel with the weights: the characters, or GPT-2's BPE tables and the length of
  // the sequences trained on.
  nn::Metadata metadata = {{"config", config.to_json()},
                           {"task", task->name()},
                           {"digits", std::to_string(o.digits)},
                           {"batch_size", std::to_string(o.batch_size)}};
  if (tokenizer) {
    metadata["tokenizer"] = tokenizer->to_json();
    metadata["context"] = std::to_string(task->block_size());
  } else {
    metadata["vocabulary"] = nlohmann::json(task->vocabulary()->symbols()).dump();
  }
  auto save = [&](int64_t step) {
    distributed::check_replicas_identical(model.parameters(), fmt::format("at step {}", step));
    saved_step = step;
    metadata["step"] = std::to_string(step);
    if (distributed::is_main_process())
      nn::save_checkpoint(o.checkpoint, model, &optimizer, metadata);
  };

  // Loss curves for --plot-loss: every progress line's batch loss, and each evaluation.
  examples::Series batch_losses{"batch loss", {}, {}}, train_curve{"train loss (eval)", {}, {}},
      val_curve{"val loss (eval)", {}, {}};
  auto plot = [&] {
    if (o.plot_loss.empty() || !distributed::is_main_process()) return;
    examples::write_line_plot(o.plot_loss, fmt::format("gpt {} training", task->name()), "step",
                              "cross-entropy", {batch_losses, train_curve, val_curve});
  };

  examples::MetricsLog metrics(o.metrics,
                               o.resume ? std::optional<int64_t>(start_step) : std::nullopt);
  const auto start = Clock::now();
  // The window since the last progress line: its steps and the time they took (evaluation and
  // checkpoints excluded).
  int64_t window_steps = 0;
  double window_seconds = 0, train_seconds = 0;
  double val_loss = NAN;
  for (int64_t step = start_step; step < o.steps; ++step) {
    const auto step_start = Clock::now();
    const double waited_before = data_parallel.stats().wait_seconds;
    examples::inject_fault_if_asked(step + 1);
    // Every rank draws the same global batch, then trains on its own rows of it.
    const Batch batch = task->batch(o.batch_size, false, default_generator());
    optimizer.zero_grad();
    distributed::GlobalMean loss;
    {
      const examples::RankDropoutStream own_dropout(o.seed, step);
      loss = batch_loss(model, batch);
      if (loss.objective.defined()) loss.objective.backward();
    }
    data_parallel.synchronize_gradients();  // every rank now holds the global batch's gradient
    // The norm is taken even without clipping (an infinite bound never scales), to catch NaN.
    const double grad_norm =
        nn::clip_grad_norm(model.parameters(), o.grad_clip > 0 ? o.grad_clip : INFINITY);
    examples::stop_if_diverged(loss.value, grad_norm, fmt::format("step {}", step + 1),
                               examples::kept_checkpoint(saved_step, "step", o.checkpoint));
    optimizer.step();
    const double lr = schedule.lr();
    schedule.step();
    window_seconds += seconds_since(step_start), ++window_steps;
    train_seconds += seconds_since(step_start);

    const int64_t done = step + 1;
    nlohmann::json record = {{"step", done},
                             {"loss", loss.value},
                             {"lr", lr},
                             {"grad_norm", grad_norm},
                             {"tokens", tokens_per_step},
                             {"seconds", seconds_since(step_start)}};
    // In a job: how long this rank waited for the gradients' allreduces after its backward.
    if (distributed::world_size() > 1) {
      record["wait_seconds"] = data_parallel.stats().wait_seconds - waited_before;
    }
    metrics.write(record);
    if (done % o.log_interval == 0 || done == o.steps) {
      const double tokens_per_second = double(window_steps * tokens_per_step) / window_seconds;
      if (peak > 0) peak = std::max(peak, tokens_per_second * flops_per_token);
      const double elapsed = seconds_since(start);
      const double eta = elapsed / double(done - start_step) * double(o.steps - done);
      batch_losses.x.push_back(double(done));
      batch_losses.y.push_back(loss.value);
      const std::string mfu =
          peak > 0
              ? fmt::format("  MFU {:>4.1f}%", 100.0 * tokens_per_second * flops_per_token / peak)
              : "";
      const std::string line = fmt::format(
          "step {:>6}/{}  loss {:.4f}  lr {:.2e}  {:>8.0f} tok/s  {:>6.1f} ms/step{}  "
          "{}elapsed {}  eta {}",
          done, o.steps, loss.value, lr, tokens_per_second,
          1000.0 * window_seconds / double(window_steps), mfu, examples::peak_memory(device),
          format_duration(elapsed), format_duration(eta));
      progress.update(line);
      window_steps = 0, window_seconds = 0;
    }
    const bool stopping = o.stop_at > 0 && done == o.stop_at;
    if (done % o.eval_interval == 0 || done == o.steps || stopping) {
      Generator eval_generator(o.seed + 1);  // the same evaluation batches every time
      const double train_loss =
          evaluate(model, *task, false, o.eval_batches, o.batch_size, eval_generator);
      val_loss = evaluate(model, *task, true, o.eval_batches, o.batch_size, eval_generator);
      progress.break_line();
      fmt::print("eval at step {}: train loss {:.4f}, val loss {:.4f}\n", done, train_loss,
                 val_loss);
      train_curve.x.push_back(double(done)), train_curve.y.push_back(train_loss);
      val_curve.x.push_back(double(done)), val_curve.y.push_back(val_loss);
      save(done);
      plot();
    }
    if (stopping) {
      fmt::print("stopped at step {} as asked; continue with --resume\n", done);
      return val_loss;
    }
  }
  fmt::print("trained in {}; checkpoint {}\n", format_duration(seconds_since(start)), o.checkpoint);
  if (distributed::world_size() > 1) {
    const distributed::CommunicationStats& c = data_parallel.stats();
    fmt::print(
        "data parallel: {} bucket{}; {:.1f} ms a step waiting for allreduces ({:.1f}% of the "
        "step); {} of {} allreduces started during backward\n",
        data_parallel.bucket_count(), data_parallel.bucket_count() == 1 ? "" : "s",
        1000 * c.wait_seconds / double(std::max<int64_t>(c.steps, 1)),
        100 * c.wait_seconds / std::max(train_seconds, 1e-9), c.buckets_in_backward,
        c.buckets_in_backward + c.buckets_at_sync);
  }
  if (task->has_exact_answers()) {
    const double accuracy = exact_match_accuracy(model, *task, 5);
    fmt::print("held-out exact match: {:.2f}%\n", 100.0 * accuracy);
  }
  return val_loss;
}

}  // namespace gpt
