#include "examples/gpt/generate.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "examples/common/device_option.hpp"

namespace gpt {

using namespace heed;

void check_sampling_options(const SamplingOptions& o) {
  examples::check_range("--max-new-tokens", o.max_new_tokens, sampling_limits::max_new_tokens);
  examples::check_range("--temperature", o.temperature, sampling_limits::temperature);
  examples::check_range("--top-k", o.top_k, sampling_limits::top_k);
  examples::check_range("--top-p", o.top_p, sampling_limits::top_p);
}

int64_t choose_token(const std::vector<double>& logits, const SamplingOptions& options,
                     Generator& generator) {
  const auto most_likely = std::max_element(logits.begin(), logits.end());
  if (options.temperature <= 0) return most_likely - logits.begin();
  // Softmax at the given temperature, over the candidates top-k and top-p leave.
  std::vector<int64_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)];
  });
  if (options.top_k > 0 && options.top_k < static_cast<int64_t>(order.size())) {
    order.resize(static_cast<size_t>(options.top_k));
  }
  std::vector<double> weights;
  for (int64_t id : order) {
    weights.push_back(
        std::exp((logits[static_cast<size_t>(id)] - *most_likely) / options.temperature));
  }
  const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  if (options.top_p < 1.0) {  // the smallest prefix of the sorted tokens holding p of the mass
    double kept = 0;
    size_t count = 0;
    while (count < weights.size() && kept < options.top_p * total) kept += weights[count++];
    weights.resize(std::max<size_t>(count, 1));
  }
  const double mass = std::accumulate(weights.begin(), weights.end(), 0.0);
  double pick = generator.uniform() * mass;
  for (size_t i = 0; i < weights.size(); ++i) {
    pick -= weights[i];
    if (pick < 0) return order[i];
  }
  return order[weights.size() - 1];
}

std::vector<std::vector<int64_t>> generate(GPT& model,
                                           const std::vector<std::vector<int64_t>>& prompts,
                                           const SamplingOptions& options, Generator& generator,
                                           const TokenCallback& on_token) {
  if (prompts.empty()) fail("generate: no prompts");
  check_sampling_options(options);
  size_t longest = 0;
  for (const auto& p : prompts) {
    if (p.empty()) fail("generate: a prompt is empty (give at least one token)");
    longest = std::max(longest, p.size());
  }
  const int64_t block = model.config().block_size;
  if (options.max_new_tokens > block - static_cast<int64_t>(longest)) {
    fail("generate: the longest prompt ({} tokens) plus {} new tokens exceeds the block size {}",
         longest, options.max_new_tokens, block);
  }
  const auto batch = static_cast<int64_t>(prompts.size());
  const auto width = static_cast<int64_t>(longest);
  // Left padding: row b is [0 ... 0, prompt]; keep marks the prompt; positions count from its
  // first token.
  std::vector<int64_t> ids, positions;
  std::vector<double> keep;
  std::vector<int64_t> next_position(prompts.size());
  for (size_t b = 0; b < prompts.size(); ++b) {
    const int64_t pad = width - static_cast<int64_t>(prompts[b].size());
    for (int64_t t = 0; t < width; ++t) {
      const bool real = t >= pad;
      ids.push_back(real ? prompts[b][static_cast<size_t>(t - pad)] : 0);
      keep.push_back(real ? 1.0 : 0.0);
      positions.push_back(real ? t - pad : 0);
    }
    next_position[b] = static_cast<int64_t>(prompts[b].size());
  }

  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  std::vector<nn::KVCache> caches;
  const Device device = examples::device_of(model);
  Tensor mask = tensor(keep, {batch, width}).to(device);  // (B, S): grows by one column per step
  Tensor logits = model.forward(int_tensor(ids, {batch, width}).to(device),
                                {.attention_mask = mask,
                                 .position_ids = int_tensor(positions, {batch, width}).to(device),
                                 .caches = &caches,
                                 .last_position_only = true});  // (B, 1, V)
  std::vector<std::vector<int64_t>> generated(prompts.size());
  std::vector<bool> stopped(prompts.size(), false);
  for (int64_t step = 0; step < options.max_new_tokens; ++step) {
    const Tensor last = logits.select(1, logits.size(1) - 1).to(kFloat64);  // (B, V)
    std::vector<int64_t> chosen;
    for (int64_t b = 0; b < batch; ++b) {
      const auto row = static_cast<size_t>(b);
      if (stopped[row]) {  // fed its stop token again; nothing more is kept for it
        chosen.push_back(options.stop_token);
        continue;
      }
      chosen.push_back(choose_token(last.select(0, b).to_vector<double>(), options, generator));
      generated[row].push_back(chosen.back());
      stopped[row] = options.stop_token >= 0 && chosen.back() == options.stop_token;
    }
    if (on_token) on_token(chosen);
    const bool all_stopped = std::all_of(stopped.begin(), stopped.end(), [](bool s) { return s; });
    if (step + 1 == options.max_new_tokens || all_stopped) break;
    mask = cat({mask, ones({batch, 1}, {kFloat32, device})}, 1);  // (B, S + 1)
    std::vector<int64_t> step_positions;
    for (auto& p : next_position) step_positions.push_back(p++);
    logits = model.forward(int_tensor(chosen, {batch, 1}).to(device),
                           {.attention_mask = mask,
                            .position_ids = int_tensor(step_positions, {batch, 1}).to(device),
                            .caches = &caches});  // (B, 1, V)
  }
  model.train(was_training);
  return generated;
}

}  // namespace gpt
