// Training and evaluating the zoo's sequence models: `seq2seq` and `summarize` (an LSTM
// encoder-decoder with the article's concat scoring, fixed) and `ner` (a BiLSTM tagger with
// per-token attention). Each task is generated from a seed, so nothing is downloaded.
#pragma once

#include <cstdint>
#include <string>

namespace zoo {

enum class SequenceTask { seq2seq, summarize, ner };

struct SequenceOptions {
  int64_t epochs = 0;  // 0: the task's default
  int64_t train_examples = 20000;
  int64_t held_out = 1000;
  int64_t batch_size = 64;
  int64_t hidden = 64;  // LSTM and attention width
  int64_t embed = 32;
  double lr = 5e-3;
  uint64_t seed = 0;
  std::string words = {};       // summarize: Tatoeba pairs to take English words from ("": shared)
  std::string checkpoint = {};  // where to save the trained model; "" for none
  std::string heatmap = {};     // the attention of a few held-out examples; "" for none
  bool quiet = false;
};

struct SequenceResult {
  double exact_match = 0;  // seq2seq, summarize: held-out outputs equal to the target
  double token_f1 = 0;     // ner: micro F1 over the entity tags (all but "other")
  double token_accuracy = 0;
  int64_t held_out = 0;
  double seconds = 0;
};

SequenceResult train_sequence_task(SequenceTask task, const SequenceOptions& options);

// Trains, prints the held-out result line, draws and saves as the options ask.
void run_sequence_task(SequenceTask task, const SequenceOptions& options);

}  // namespace zoo
