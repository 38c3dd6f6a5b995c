// The sequence models' forward passes, shapes on every line.
#include "examples/attention_zoo/sequence.hpp"

namespace zoo {

using namespace heed;

ConcatAttention::ConcatAttention(int64_t hidden) : Module("ConcatAttention") {
  score = register_module("score", std::make_shared<nn::Linear>(2 * hidden, hidden));
  v = register_module("v", std::make_shared<nn::Linear>(hidden, 1, false));
}

ConcatAttention::Output ConcatAttention::forward(const Tensor& state, const Tensor& outputs,
                                                 const Tensor& valid_lens) {
  const int64_t B = outputs.size(0), T = outputs.size(1), H = outputs.size(2);
  const Tensor repeated = state.unsqueeze(1).expand({B, T, H});  // (B, T, H): the fix
  // v . tanh(W [state; output_t]): without the tanh, W's state half adds the same number to
  // every t, which the softmax ignores, and the attention could never depend on the state
  const Tensor scores = (*v)(tanh((*score)(cat({repeated, outputs}, 2)))).squeeze(-1);  // (B, T)
  const Tensor weights = masked_softmax(scores, {.valid_lens = valid_lens});            // over time
  const Tensor context = matmul(weights.unsqueeze(1), outputs).squeeze(1);              // (B, H)
  return {context, weights};
}

Seq2Seq::Seq2Seq(int64_t source_vocab, int64_t target_vocab, int64_t embed, int64_t hidden)
    : Module("Seq2Seq"), hidden_size(hidden) {
  source_embedding = register_module(
      "source_embedding", std::make_shared<nn::Embedding>(source_vocab, embed, int64_t{0}));
  target_embedding = register_module(
      "target_embedding", std::make_shared<nn::Embedding>(target_vocab, embed, int64_t{0}));
  encoder = register_module(
      "encoder",
      std::make_shared<nn::LSTM>(embed, hidden, nn::RecurrentOptions{.batch_first = true}));
  decoder = register_module("decoder", std::make_shared<nn::LSTMCell>(embed + hidden, hidden));
  attention = register_module("attention", std::make_shared<ConcatAttention>(hidden));
  out = register_module("out", std::make_shared<nn::Linear>(2 * hidden, target_vocab));
}

Seq2Seq::Encoded Seq2Seq::encode(const Tensor& source, const Tensor& valid_lens) {
  const Tensor outputs = (*encoder)((*source_embedding)(source)).first;  // (B, T, H)
  // The decoder starts from zeros, not from the encoder's last state: everything it learns of
  // the source comes through the attention, which must then point at what each step needs.
  const Tensor zero = zeros({source.size(0), hidden_size}, {outputs.dtype()});  // (B, H)
  return {outputs, valid_lens, zero, zero};
}

Seq2Seq::Step Seq2Seq::step(const Tensor& tokens, const Tensor& h, const Tensor& c,
                            const Encoded& encoded) {
  const ConcatAttention::Output attended =
      attention->forward(h, encoded.outputs, encoded.valid_lens);                // (B, H), (B, T)
  const Tensor input = cat({(*target_embedding)(tokens), attended.context}, 1);  // (B, E + H)
  const auto [h_next, c_next] = (*decoder)(input, h, c);                         // (B, H)
  const Tensor logits = (*out)(cat({h_next, attended.context}, 1));              // (B, V)
  return {logits, h_next, c_next, attended.weights};
}

std::pair<Tensor, Tensor> Seq2Seq::forward(const Tensor& source, const Tensor& valid_lens,
                                           const Tensor& target_in) {
  const Encoded encoded = encode(source, valid_lens);
  Tensor h = encoded.h, c = encoded.c;
  std::vector<Tensor> logits, weights;
  for (int64_t s = 0; s < target_in.size(1); ++s) {
    Step next = step(target_in.select(1, s), h, c, encoded);
    logits.push_back(next.logits);
    weights.push_back(next.weights);
    h = next.h, c = next.c;
  }
  return {stack(logits, 1), stack(weights, 1)};  // (B, S, V), (B, S, T)
}

std::pair<std::vector<std::vector<int64_t>>, Tensor> Seq2Seq::greedy(const Tensor& source,
                                                                     const Tensor& valid_lens,
                                                                     int64_t bos, int64_t eos,
                                                                     int64_t max_steps) {
  NoGradGuard no_grad;
  const int64_t B = source.size(0);
  const Encoded encoded = encode(source, valid_lens);
  Tensor h = encoded.h, c = encoded.c;
  Tensor tokens = full({B}, double(bos), {kInt64});
  std::vector<std::vector<int64_t>> decoded(static_cast<size_t>(B));
  std::vector<bool> done(static_cast<size_t>(B), false);
  std::vector<Tensor> weights;
  for (int64_t s = 0; s < max_steps; ++s) {
    const Step next = step(tokens, h, c, encoded);
    tokens = argmax(next.logits, 1);  // (B)
    weights.push_back(next.weights);
    h = next.h, c = next.c;
    const std::vector<int64_t> chosen = tokens.to_vector<int64_t>();
    bool all_done = true;
    for (size_t b = 0; b < chosen.size(); ++b) {
      if (!done[b] && chosen[b] == eos) done[b] = true;
      if (!done[b]) decoded[b].push_back(chosen[b]);
      all_done = all_done && done[b];
    }
    if (all_done) break;
  }
  return {decoded, stack(weights, 1)};  // (B, steps, T)
}

Tagger::Tagger(int64_t vocab, int64_t tags, int64_t embed, int64_t hidden) : Module("Tagger") {
  embedding =
      register_module("embedding", std::make_shared<nn::Embedding>(vocab, embed, int64_t{0}));
  lstm = register_module(
      "lstm", std::make_shared<nn::LSTM>(
                  embed, hidden, nn::RecurrentOptions{.batch_first = true, .bidirectional = true}));
  attention =
      register_module("attention", std::make_shared<nn::Linear>(2 * hidden, 2 * hidden, false));
  classifier = register_module("classifier", std::make_shared<nn::Linear>(4 * hidden, tags));
}

Tagger::Output Tagger::forward(const Tensor& tokens, const Tensor& valid_lens) {
  const int64_t T = tokens.size(1);
  const Tensor h = (*lstm)((*embedding)(tokens)).first;              // (B, T, 2H)
  const Tensor scores = matmul((*attention)(h), h.transpose(1, 2));  // (B, T, T): h_t . W h_j
  // each token t of sentence b attends to the valid tokens j of sentence b, softmax over j
  const Tensor weights = masked_softmax(
      scores, {.valid_lens = valid_lens.unsqueeze(1).expand({valid_lens.size(0), T}).contiguous()});
  const Tensor context = matmul(weights, h);              // (B, T, 2H)
  return {(*classifier)(cat({h, context}, 2)), weights};  // (B, T, tags)
}

ArticleTagger::ArticleTagger(int64_t vocab, int64_t tags, int64_t embed, int64_t hidden)
    : Module("ArticleTagger") {
  embedding = register_module("embedding", std::make_shared<nn::Embedding>(vocab, embed));
  lstm = register_module("lstm", std::make_shared<nn::LSTM>(
                                     embed, hidden, nn::RecurrentOptions{.bidirectional = true}));
  attention = register_module("attention", std::make_shared<nn::Linear>(2 * hidden, 1));
  classifier = register_module("classifier", std::make_shared<nn::Linear>(2 * hidden, tags));
}

Tensor ArticleTagger::forward(const Tensor& tokens) {
  const Tensor h = (*lstm)((*embedding)(tokens)).first;  // (T, B, 2H), sequence first
  const Tensor weights = softmax((*attention)(h), 1);    // (T, B, 1): over dim 1, the batch
  const Tensor pooled = (weights * h).sum({0});          // (B, 2H): time summed away
  return (*classifier)(pooled);                          // (B, tags): one tag per sentence
}

}  // namespace zoo
