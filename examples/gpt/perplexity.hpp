// Perplexity of a token sequence longer than the model's context, as Hugging Face's perplexity
// guide computes it: windows of at most `window` tokens start every `stride` tokens, and each
// window scores only the tokens the previous one did not, with all the context before them that
// fits. So every token after the first is scored exactly once, and a smaller stride gives each
// more context (and costs more windows).
#pragma once

#include <cstdint>
#include <vector>

#include "examples/gpt/model.hpp"

namespace gpt {

struct PerplexityResult {
  int64_t tokens = 0;     // in the sequence
  int64_t scored = 0;     // tokens whose probability was counted (all but the first)
  int64_t windows = 0;    // forward passes
  int64_t processed = 0;  // tokens through the model, over all windows (they overlap)
  double mean_nll = 0;    // mean cross-entropy per scored token, in nats
  double perplexity = 0;  // exp(mean_nll)
};

// `ids` of at least 2 tokens; 1 <= stride <= window <= the model's block size.
PerplexityResult strided_perplexity(GPT& model, const std::vector<int64_t>& ids, int64_t window,
                                    int64_t stride);

}  // namespace gpt
