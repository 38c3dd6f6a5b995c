// The zoo's sequence models, with the attention the article meant. Submodule names match the
// PyTorch twins in tests/generate_attention_zoo.py, so weights move between the two by name.
#pragma once

#include "nn/nn.hpp"

namespace zoo {

using heed::Tensor;

// The article's concat scoring, fixed twice. The decoder's state is broadcast over the T encoder
// outputs before the concatenation (the article joined a (1, B, H) state with (T, B, H) outputs,
// which fails unless T = 1); and the score gets Bahdanau's tanh (the article's Linear(2H, 1) is
// linear in the state, so the state adds one number to every score and the softmax, blind to
// it, would look at the same places whatever the decoder needs). The softmax runs over time,
// padding masked:
//   scores[b, t] = v . tanh(W cat(state[b], outputs[b, t]))
class ConcatAttention : public heed::nn::Module {
 public:
  explicit ConcatAttention(int64_t hidden);
  struct Output {
    Tensor context;  // (B, H)
    Tensor weights;  // (B, T), zero on padding
  };
  // state (B, H), outputs (B, T, H), valid_lens (B) int64
  Output forward(const Tensor& state, const Tensor& outputs, const Tensor& valid_lens);
  std::shared_ptr<heed::nn::Linear> score, v;
};

// The article's seq2seq model: an LSTM encoder, an LSTM decoder fed its previous token and the
// attention's context, scores by concatenation. Token 0 is padding. The decoder starts from
// zeros, so the source reaches it only through the attention.
class Seq2Seq : public heed::nn::Module {
 public:
  Seq2Seq(int64_t source_vocab, int64_t target_vocab, int64_t embed, int64_t hidden);
  struct Encoded {
    Tensor outputs;     // (B, T, H)
    Tensor valid_lens;  // (B)
    Tensor h, c;        // (B, H): the decoder's first state, zeros
  };
  Encoded encode(const Tensor& source, const Tensor& valid_lens);  // (B, T) int64, (B) int64
  struct Step {
    Tensor logits;   // (B, V)
    Tensor h, c;     // (B, H)
    Tensor weights;  // (B, T)
  };
  // One decoder step from the previous tokens (B) and state.
  Step step(const Tensor& tokens, const Tensor& h, const Tensor& c, const Encoded& encoded);
  // Teacher forcing: target_in (B, S) -> logits (B, S, V) and attention (B, S, T).
  std::pair<Tensor, Tensor> forward(const Tensor& source, const Tensor& valid_lens,
                                    const Tensor& target_in);
  // Greedy decoding from `bos` until `eos` or max_steps: (B, <= max_steps) ids, and attention.
  std::pair<std::vector<std::vector<int64_t>>, Tensor> greedy(const Tensor& source,
                                                              const Tensor& valid_lens, int64_t bos,
                                                              int64_t eos, int64_t max_steps);

  int64_t hidden_size;
  std::shared_ptr<heed::nn::Embedding> source_embedding, target_embedding;
  std::shared_ptr<heed::nn::LSTM> encoder;
  std::shared_ptr<heed::nn::LSTMCell> decoder;
  std::shared_ptr<ConcatAttention> attention;
  std::shared_ptr<heed::nn::Linear> out;
};

// A BiLSTM tagger with per-token attention: token t scores every token j of its own sentence
// (h_t . W h_j, padding masked, softmax over j), and its tag reads cat(h_t, context_t). One tag
// per token; no sentence sees another. nn::LSTM takes no lengths, so its backward direction reads
// right padding: the zoo batches sentences of one length together, and a caller who pads should
// know that the padding reaches the backward states.
class Tagger : public heed::nn::Module {
 public:
  Tagger(int64_t vocab, int64_t tags, int64_t embed, int64_t hidden);
  struct Output {
    Tensor logits;   // (B, T, tags)
    Tensor weights;  // (B, T, T)
  };
  Output forward(const Tensor& tokens, const Tensor& valid_lens);  // (B, T) int64, (B)
  std::shared_ptr<heed::nn::Embedding> embedding;
  std::shared_ptr<heed::nn::LSTM> lstm;
  std::shared_ptr<heed::nn::Linear> attention, classifier;
};

// The article's "NER" model as printed: sequence-first BiLSTM outputs (T, B, 2H), Linear(2H, 1)
// scores, softmax over dim 1, which is the batch, then a sum over time: one label per sentence,
// and each sentence's weights depend on the others in its batch. Kept to show the bug.
class ArticleTagger : public heed::nn::Module {
 public:
  ArticleTagger(int64_t vocab, int64_t tags, int64_t embed, int64_t hidden);
  Tensor forward(const Tensor& tokens);  // (T, B) int64 -> (B, tags)
  std::shared_ptr<heed::nn::Embedding> embedding;
  std::shared_ptr<heed::nn::LSTM> lstm;
  std::shared_ptr<heed::nn::Linear> attention, classifier;
};

}  // namespace zoo
