// The sequence models' training loops: Adam over seeded shuffles of the generated examples,
// then the held-out figures (greedy decoding, or tags) with gradients off.
#include "examples/attention_zoo/sequence_train.hpp"

#include <fmt/format.h>

#include <cmath>
#include <functional>
#include <numeric>

#include "examples/attention_zoo/sequence.hpp"
#include "examples/attention_zoo/sequence_tasks.hpp"
#include "examples/attention_zoo/trainer.hpp"
#include "examples/common/checks.hpp"
#include "examples/common/heatmap.hpp"
#include "examples/common/progress.hpp"

namespace zoo {

using namespace heed;

namespace {

// A batch of token sequences as ids (B, T), right-padded with 0, and their lengths (B).
struct Padded {
  Tensor ids, lens;
};
Padded pad(const std::vector<std::vector<int64_t>>& rows) {
  size_t longest = 1;
  for (const auto& row : rows) longest = std::max(longest, row.size());
  std::vector<int64_t> ids(rows.size() * longest, Vocab::kPad), lens;
  for (size_t r = 0; r < rows.size(); ++r) {
    std::copy(rows[r].begin(), rows[r].end(), ids.begin() + int64_t(r * longest));
    lens.push_back(static_cast<int64_t>(rows[r].size()));
  }
  const auto B = static_cast<int64_t>(rows.size());
  return {int_tensor(ids, {B, static_cast<int64_t>(longest)}), int_tensor(lens, {B})};
}

std::vector<int64_t> ids_of(const Vocab& vocab, const Tokens& tokens) {
  std::vector<int64_t> ids;
  for (const std::string& token : tokens) ids.push_back(vocab.id(token));
  return ids;
}

void shuffle_in_place(std::vector<size_t>& order, Generator& generator) {
  for (size_t i = order.size(); i > 1; --i) {
    std::swap(order[i - 1], order[generator.next_u64() % i]);
  }
}

// The examples' order for one epoch, cut into batches of indices. With `length_of`, a batch
// holds examples of one length only: nn::LSTM reads right padding in its backward direction, so
// a bidirectional model must never see any.
std::vector<std::vector<size_t>> epoch_batches(
    size_t n, int64_t batch_size, Generator& generator,
    const std::function<size_t(size_t)>& length_of = nullptr) {
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  shuffle_in_place(order, generator);
  if (length_of) {
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return length_of(a) < length_of(b); });
  }
  std::vector<std::vector<size_t>> batches;
  for (size_t start = 0; start < n;) {
    size_t end = std::min(n, start + size_t(batch_size));
    if (length_of) {
      end = start + 1;
      while (end < n && end - start < size_t(batch_size) &&
             length_of(order[end]) == length_of(order[start])) {
        ++end;
      }
    }
    batches.emplace_back(order.begin() + int64_t(start), order.begin() + int64_t(end));
    start = end;
  }
  if (length_of) {  // the batches in a random order, not shortest first
    std::vector<size_t> which(batches.size());
    std::iota(which.begin(), which.end(), 0);
    shuffle_in_place(which, generator);
    std::vector<std::vector<size_t>> shuffled;
    for (size_t i : which) shuffled.push_back(std::move(batches[i]));
    batches = std::move(shuffled);
  }
  return batches;
}

// Source ids, and for seq2seq the decoder's input (<bos> + target) and output (target + <eos>).
struct Batch {
  Padded source, target_in, target_out;
};
Batch make_batch(const std::vector<Example>& examples, const std::vector<size_t>& picked,
                 const Vocab& source_vocab, const Vocab& target_vocab, bool tags) {
  std::vector<std::vector<int64_t>> source, target_in, target_out;
  for (size_t i : picked) {
    source.push_back(ids_of(source_vocab, examples[i].source));
    std::vector<int64_t> target = ids_of(target_vocab, examples[i].target);
    if (tags) {
      target_out.push_back(target);
      continue;
    }
    std::vector<int64_t> in{Vocab::kBos};
    in.insert(in.end(), target.begin(), target.end());
    target.push_back(Vocab::kEos);
    target_in.push_back(in);
    target_out.push_back(target);
  }
  return {pad(source), tags ? Padded{} : pad(target_in), pad(target_out)};
}

const char* task_name(SequenceTask task) {
  return task == SequenceTask::seq2seq     ? "seq2seq"
         : task == SequenceTask::summarize ? "summarize"
                                           : "ner";
}

struct Trained {
  TaskData data;
  Vocab source_vocab, target_vocab;
};

// Held-out exact match of greedy decoding; the first few examples' attention as heatmaps.
double exact_match(Seq2Seq& model, const Trained& t, std::vector<examples::Heatmap>* maps) {
  int64_t right = 0;
  const std::vector<Example>& held = t.data.held_out;
  for (size_t start = 0; start < held.size(); start += 256) {
    std::vector<size_t> picked(std::min<size_t>(256, held.size() - start));
    std::iota(picked.begin(), picked.end(), start);
    const Batch batch = make_batch(held, picked, t.source_vocab, t.target_vocab, false);
    const int64_t longest = batch.target_out.ids.size(1) + 5;
    const auto [decoded, weights] =
        model.greedy(batch.source.ids, batch.source.lens, Vocab::kBos, Vocab::kEos, longest);
    for (size_t b = 0; b < picked.size(); ++b) {
      const Example& example = held[picked[b]];
      right += decoded[b] == ids_of(t.target_vocab, example.target) ? 1 : 0;
      if (maps != nullptr && start == 0 && b < 3) {
        Tokens row_labels;
        for (int64_t id : decoded[b]) row_labels.push_back(t.target_vocab.token(id));
        row_labels.push_back("<eos>");
        const auto rows = std::min<int64_t>(int64_t(row_labels.size()), weights.size(1));
        row_labels.resize(size_t(rows));
        const auto cols = static_cast<int64_t>(example.source.size());
        maps->push_back({weights.select(0, int64_t(b)).narrow(0, 0, rows).narrow(1, 0, cols),
                         row_labels, example.source, fmt::format("held-out example {}", b + 1)});
      }
    }
  }
  return double(right) / double(held.size());
}

// The training loop both kinds of model share: Adam with a warmup and cosine decay over the
// epochs (default_epochs unless --epochs), seeded shuffles, a progress line; `batch_loss` turns a
// batch of example indices into the loss to minimise.
void fit(nn::Module& model, const SequenceOptions& o, const char* name, int64_t default_epochs,
         size_t examples, const std::function<Tensor(const std::vector<size_t>&)>& batch_loss,
         const std::function<size_t(size_t)>& length_of = nullptr) {
  const int64_t epochs = o.epochs > 0 ? o.epochs : default_epochs;
  const int64_t steps_per_epoch = (int64_t(examples) + o.batch_size - 1) / o.batch_size;
  Trainer trainer({.name = name,
                   .parameters = model.parameters(),
                   .lr = o.lr,
                   .epochs = epochs,
                   .steps_per_epoch = steps_per_epoch,
                   .warmup_steps = steps_per_epoch / 4,
                   .min_lr_factor = 0.05,
                   .clip_norm = 1.0,
                   .quiet = o.quiet});
  Generator shuffle(o.seed + 1);
  for (int64_t epoch = 1; epoch <= epochs; ++epoch) {
    for (const auto& picked : epoch_batches(examples, o.batch_size, shuffle, length_of)) {
      trainer.step(batch_loss(picked), epoch);
    }
  }
  trainer.finish();
}

SequenceResult train_translation(SequenceTask task, const SequenceOptions& o) {
  const auto start = examples::Clock::now();
  Trained t;
  t.data = task == SequenceTask::seq2seq
               ? date_task(o.train_examples, o.held_out, o.seed)
               : summarize_task(o.words, o.train_examples, o.held_out, o.seed);
  std::vector<Tokens> sources, targets;
  for (const Example& e : t.data.train) sources.push_back(e.source), targets.push_back(e.target);
  t.source_vocab = Vocab(sources);
  t.target_vocab = Vocab(targets);
  manual_seed(o.seed);
  Seq2Seq model(t.source_vocab.size(), t.target_vocab.size(), o.embed, o.hidden);
  fit(model, o, task_name(task), 12, t.data.train.size(), [&](const std::vector<size_t>& picked) {
    const Batch batch = make_batch(t.data.train, picked, t.source_vocab, t.target_vocab, false);
    const Tensor logits =
        model.forward(batch.source.ids, batch.source.lens, batch.target_in.ids).first;
    // the mean cross-entropy over the target tokens, <eos> included, padding not
    return nn::sequence_cross_entropy(logits, batch.target_out.ids, batch.target_out.lens);
  });
  model.eval();
  std::vector<examples::Heatmap> maps;
  SequenceResult result;
  result.exact_match = exact_match(model, t, o.heatmap.empty() ? nullptr : &maps);
  result.held_out = static_cast<int64_t>(t.data.held_out.size());
  if (!o.heatmap.empty()) examples::write_heatmaps(o.heatmap, maps);
  if (!o.checkpoint.empty()) {
    nn::save_checkpoint(o.checkpoint, model, nullptr, {{"model", task_name(task)}});
  }
  result.seconds = examples::seconds_since(start);
  return result;
}

SequenceResult train_tagger(const SequenceOptions& o) {
  const auto start = examples::Clock::now();
  Trained t;
  t.data = ner_task(o.train_examples, o.held_out, o.seed);
  std::vector<Tokens> sources;
  for (const Example& e : t.data.train) sources.push_back(e.source);
  t.source_vocab = Vocab(sources);
  t.target_vocab = Vocab({kNerTags});
  manual_seed(o.seed);
  Tagger model(t.source_vocab.size(), t.target_vocab.size(), o.embed, o.hidden);
  fit(
      model, o, "ner", 6, t.data.train.size(),
      [&](const std::vector<size_t>& picked) {
        const Batch batch = make_batch(t.data.train, picked, t.source_vocab, t.target_vocab, true);
        const Tensor logits = model.forward(batch.source.ids, batch.source.lens).logits;
        return nn::sequence_cross_entropy(logits, batch.target_out.ids, batch.source.lens);
      },
      [&](size_t i) { return t.data.train[i].source.size(); });
  NoGradGuard no_grad;
  model.eval();
  // micro F1 over the entity tags: a token counts when gold or prediction is not "other"
  const int64_t other = t.target_vocab.id("other");
  int64_t true_positive = 0, false_positive = 0, false_negative = 0, right = 0, tokens = 0;
  std::vector<examples::Heatmap> maps;
  const std::vector<Example>& held = t.data.held_out;
  Generator unused(0);
  const auto held_batches =
      epoch_batches(held.size(), 256, unused, [&](size_t i) { return held[i].source.size(); });
  size_t drawn = 0;  // heatmaps drawn
  for (const std::vector<size_t>& picked : held_batches) {
    const Batch batch = make_batch(held, picked, t.source_vocab, t.target_vocab, true);
    const Tagger::Output out = model.forward(batch.source.ids, batch.source.lens);
    const std::vector<int64_t> predicted = argmax(out.logits, 2).to_vector<int64_t>();
    const std::vector<int64_t> gold = batch.target_out.ids.to_vector<int64_t>();
    const int64_t T = batch.source.ids.size(1);
    for (size_t b = 0; b < picked.size(); ++b) {
      const auto length = static_cast<int64_t>(held[picked[b]].source.size());
      for (int64_t i = 0; i < length; ++i) {
        const int64_t p = predicted[b * size_t(T) + size_t(i)], g = gold[b * size_t(T) + size_t(i)];
        right += p == g ? 1 : 0;
        ++tokens;
        if (p == g && g != other) ++true_positive;
        if (p != g && p != other) ++false_positive;
        if (p != g && g != other) ++false_negative;
      }
      if (!o.heatmap.empty() && drawn < 3) {
        ++drawn;
        Tokens labels;
        for (int64_t i = 0; i < length; ++i) {
          labels.push_back(held[picked[b]].source[size_t(i)] + " : " +
                           t.target_vocab.token(predicted[b * size_t(T) + size_t(i)]));
        }
        maps.push_back({out.weights.select(0, int64_t(b)).narrow(0, 0, length).narrow(1, 0, length),
                        labels, held[picked[b]].source, fmt::format("held-out example {}", drawn)});
      }
    }
  }
  SequenceResult result;
  result.held_out = static_cast<int64_t>(held.size());
  result.token_accuracy = double(right) / double(std::max<int64_t>(tokens, 1));
  result.token_f1 =
      2.0 * double(true_positive) /
      double(std::max<int64_t>(1, 2 * true_positive + false_positive + false_negative));
  if (!o.heatmap.empty()) examples::write_heatmaps(o.heatmap, maps);
  if (!o.checkpoint.empty()) nn::save_checkpoint(o.checkpoint, model, nullptr, {{"model", "ner"}});
  result.seconds = examples::seconds_since(start);
  return result;
}

}  // namespace

SequenceResult train_sequence_task(SequenceTask task, const SequenceOptions& options) {
  return task == SequenceTask::ner ? train_tagger(options) : train_translation(task, options);
}

void run_sequence_task(SequenceTask task, const SequenceOptions& o) {
  if (!o.checkpoint.empty()) examples::check_output_file(o.checkpoint, "--checkpoint");
  if (!o.heatmap.empty()) examples::check_output_file(o.heatmap, "--heatmap");
  const SequenceResult r = train_sequence_task(task, o);
  if (task == SequenceTask::ner) {
    fmt::print(
        "ner: held-out token F1 {:.4f} (entity tags), token accuracy {:.2f}%, {} "
        "sentences, {}\n",
        r.token_f1, 100 * r.token_accuracy, r.held_out, examples::format_duration(r.seconds));
  } else {
    fmt::print("{}: held-out exact match {:.2f}% of {} examples, {}\n", task_name(task),
               100 * r.exact_match, r.held_out, examples::format_duration(r.seconds));
  }
  if (!o.heatmap.empty()) fmt::print("attention heatmaps written to {}\n", o.heatmap);
}

}  // namespace zoo
