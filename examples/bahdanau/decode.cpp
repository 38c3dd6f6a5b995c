#include "examples/bahdanau/decode.hpp"

#include <algorithm>
#include <cmath>

namespace bahdanau {

using namespace heed;

namespace {

void check_source(const Encoded& source, int64_t max_steps) {
  if (source.tokens.dim() != 2 || source.valid_lens.dim() != 1 ||
      source.valid_lens.size(0) != source.tokens.size(0)) {
    fail("translate: expected source tokens (B, T) and valid lengths (B,), got {} and {}",
         shape_str(source.tokens.shape()), shape_str(source.valid_lens.shape()));
  }
  if (max_steps < 1) fail("translate: max_steps must be at least 1, got {}", max_steps);
}

}  // namespace

std::vector<Translation> greedy_translate(Seq2Seq& model, const Encoded& source,
                                          int64_t max_steps) {
  check_source(source, max_steps);
  NoGradGuard no_grad;
  model.eval();
  const int64_t B = source.tokens.size(0);
  const std::vector<int64_t> source_lens = source.valid_lens.to_vector<int64_t>();
  DecoderState state = model.encode(source.tokens, source.valid_lens);
  const Device device = source.tokens.device();
  Tensor input = full({B, 1}, double(Vocab::bos), {kInt64, device});  // (B, 1)
  std::vector<Translation> out(static_cast<size_t>(B));
  std::vector<Tensor> step_weights;  // each (B, T)
  int64_t unfinished = B;
  for (int64_t step = 0; step < max_steps && unfinished > 0; ++step) {
    const Tensor logits = model.decoder->forward(input, state);   // (B, 1, V)
    const Tensor log_probs = log_softmax(logits.squeeze(1), -1);  // (B, V)
    const Tensor next = argmax(log_probs, -1);                    // (B,)
    const std::vector<int64_t> tokens = next.to_vector<int64_t>();
    const std::vector<double> chosen =
        gather(log_probs, 1, next.unsqueeze(1)).to_vector<double>();  // log p of each choice
    step_weights.push_back(model.decoder->attention_weights[0].squeeze(1));
    for (int64_t b = 0; b < B; ++b) {
      Translation& t = out[size_t(b)];
      if (t.finished) continue;
      t.log_prob += chosen[size_t(b)];
      if (tokens[size_t(b)] == Vocab::eos) {
        t.finished = true;
        --unfinished;
      } else {
        t.tokens.push_back(tokens[size_t(b)]);
      }
    }
    input = next.unsqueeze(1);
  }
  const Tensor weights = stack(step_weights, 1).to(kCPU);  // (B, steps, T)
  for (int64_t b = 0; b < B; ++b) {
    Translation& t = out[size_t(b)];
    const int64_t steps = int64_t(t.tokens.size()) + (t.finished ? 1 : 0);
    t.attention =
        weights.select(0, b).narrow(0, 0, steps).narrow(1, 0, source_lens[size_t(b)]).contiguous();
  }
  return out;
}

Translation beam_translate(Seq2Seq& model, const Encoded& source, int64_t beam, double alpha,
                           int64_t max_steps) {
  check_source(source, max_steps);
  if (source.tokens.size(0) != 1) fail("beam search translates one sentence at a time");
  if (beam < 1) fail("--beam must be at least 1, got {}", beam);
  NoGradGuard no_grad;
  model.eval();
  const int64_t source_len = source.valid_lens.item<int64_t>();

  struct Hypothesis {
    std::vector<int64_t> tokens;  // with the closing <eos> once finished
    double log_prob = 0;
    std::vector<Tensor> weights;  // one (T,) row per token
  };
  std::vector<Hypothesis> live(1), finished;
  DecoderState state = model.encode(source.tokens, source.valid_lens);  // one row per live one
  for (int64_t step = 0; step < max_steps && !live.empty(); ++step) {
    std::vector<int64_t> last;
    for (const Hypothesis& h : live)
      last.push_back(h.tokens.empty() ? Vocab::bos : h.tokens.back());
    const Tensor input = int_tensor(last, {int64_t(live.size()), 1}).to(source.tokens.device());
    const Tensor log_probs =
        log_softmax(model.decoder->forward(input, state).squeeze(1), -1).to(kFloat64);  // (n, V)
    const Tensor weights = model.decoder->attention_weights[0].squeeze(1);              // (n, T)
    const int64_t V = log_probs.size(1);
    const std::vector<double> scores = log_probs.to_vector<double>();

    // The 2 * beam best extensions: enough that `beam` survive even if some end here.
    std::vector<int64_t> order(scores.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = int64_t(i);
    auto total = [&](int64_t c) { return live[size_t(c / V)].log_prob + scores[size_t(c)]; };
    const auto keep = std::min<int64_t>(2 * beam, int64_t(order.size()));
    std::partial_sort(order.begin(), order.begin() + keep, order.end(),
                      [&](int64_t a, int64_t b) { return total(a) > total(b); });

    std::vector<Hypothesis> next;
    std::vector<int64_t> parents;
    for (int64_t k = 0; k < keep && int64_t(next.size()) < beam; ++k) {
      const int64_t parent = order[size_t(k)] / V, token = order[size_t(k)] % V;
      Hypothesis h = live[size_t(parent)];
      h.tokens.push_back(token);
      h.log_prob = total(order[size_t(k)]);
      h.weights.push_back(weights.select(0, parent));
      if (token == Vocab::eos) {
        finished.push_back(std::move(h));
      } else {
        next.push_back(std::move(h));
        parents.push_back(parent);
      }
    }
    if (int64_t(finished.size()) >= beam) break;
    live = std::move(next);
    if (!live.empty()) {
      state = state.select_rows(
          int_tensor(parents, {int64_t(parents.size())}).to(source.tokens.device()));
    }
  }
  const bool any_finished = !finished.empty();
  const std::vector<Hypothesis>& pool = any_finished ? finished : live;
  auto normalised = [&](const Hypothesis& h) {
    return h.log_prob / std::pow(double(std::max<size_t>(h.tokens.size(), 1)), alpha);
  };
  const Hypothesis& best = *std::max_element(
      pool.begin(), pool.end(),
      [&](const Hypothesis& a, const Hypothesis& b) { return normalised(a) < normalised(b); });
  Translation t;
  t.finished = any_finished;
  t.tokens = best.tokens;
  if (t.finished) t.tokens.pop_back();
  t.log_prob = best.log_prob;
  t.attention =
      stack(best.weights, 0).narrow(1, 0, source_len).to(kCPU).contiguous();  // (steps, T)
  return t;
}

}  // namespace bahdanau
