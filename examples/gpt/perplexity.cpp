// The perplexity guide's loop: window [begin, end) scores its last end - previous_end tokens.
#include "examples/gpt/perplexity.hpp"

#include <algorithm>
#include <cmath>

#include "examples/common/device_option.hpp"

namespace gpt {

using namespace heed;

PerplexityResult strided_perplexity(GPT& model, const std::vector<int64_t>& ids, int64_t window,
                                    int64_t stride) {
  const auto length = static_cast<int64_t>(ids.size());
  if (length < 2) fail("perplexity: the text is {} tokens; at least 2 are needed", length);
  if (window < 2 || window > model.config().block_size) {
    fail("perplexity: a window of {} tokens (expected 2 to the block size {})", window,
         model.config().block_size);
  }
  if (stride < 1 || stride > window) {
    fail("--stride {}: expected 1 to the window of {} tokens", stride, window);
  }
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  const Device device = examples::device_of(model);
  PerplexityResult result;
  result.tokens = length;
  double nll_sum = 0;
  int64_t previous_end = 0;
  for (int64_t begin = 0; begin < length; begin += stride) {
    const int64_t end = std::min(begin + window, length);
    const int64_t span = end - begin;
    // Positions j of the window whose token is scored (predicted from position j - 1): the
    // last end - previous_end of them, and never the window's first.
    const int64_t first_scored = std::max<int64_t>(1, span - (end - previous_end));
    const std::vector<int64_t> input(ids.begin() + begin, ids.begin() + end);
    const Tensor logits =
        model.forward(int_tensor(input, {1, span}).to(device)).select(0, 0);  // (span, V)
    const std::vector<int64_t> targets(input.begin() + first_scored, input.end());
    const auto scored = static_cast<int64_t>(targets.size());
    const Tensor predicted = logits.narrow(0, first_scored - 1, scored);  // (scored, V)
    nll_sum += nn::cross_entropy(predicted, int_tensor(targets, {scored}).to(device),
                                 {.reduction = Reduction::Sum})
                   .item();
    result.scored += scored;
    result.processed += span;
    ++result.windows;
    previous_end = end;
    if (end == length) break;
  }
  model.train(was_training);
  result.mean_nll = nll_sum / double(result.scored);
  result.perplexity = std::exp(result.mean_nll);
  return result;
}

}  // namespace gpt
