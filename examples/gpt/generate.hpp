// Generation with a key/value cache, for one prompt or a batch of prompts of different lengths.
//
// A batch is left-padded to its longest prompt. The attention mask marks real tokens with 1 and
// padding with 0, so no real token ever attends to padding; position ids count from 0 at each
// prompt's first real token, so a padded prompt sees exactly the positions it would see alone.
// After the prompt pass, every step feeds only the newest token of each row: the cache holds
// the keys and values of everything before it.
#pragma once

#include <functional>
#include <vector>

#include "examples/gpt/model.hpp"

namespace gpt {

struct SamplingOptions {
  int64_t max_new_tokens = 32;
  double temperature = 1.0;  // 0: greedy (always the most likely token)
  int64_t top_k = 0;         // > 0: sample among the k most likely tokens only
  double top_p = 1.0;        // < 1: sample among the most likely tokens whose total is p
  // >= 0: a row that produces this token (GPT-2's <|endoftext|>) stops there, keeping it, while
  // the others go on; generation ends when every row has stopped.
  int64_t stop_token = -1;
};

// The range of every sampling flag (checked by check_sampling_options and shown by --help).
namespace sampling_limits {
inline constexpr examples::IntRange max_new_tokens{0, 65536};  // and at most the block size
inline constexpr examples::RealRange temperature{0, 100};
inline constexpr examples::IntRange top_k{0, int64_t{1} << 24};
inline constexpr examples::RealRange top_p{0, 1, true, false};
inline constexpr examples::IntRange layer_or_head{-1, 255};  // -1: the default
}  // namespace sampling_limits

void check_sampling_options(const SamplingOptions& options);

// Called after every step with the token just chosen for each prompt.
using TokenCallback = std::function<void(const std::vector<int64_t>& tokens)>;

// Returns, for each prompt, the new tokens only (up to and including the stop token, if one is
// set and produced). Prompts must be non-empty, and the longest prompt plus max_new_tokens must
// fit in the model's block size. The callback sees every row's token at each step, the stop
// token again for a row that has stopped.
std::vector<std::vector<int64_t>> generate(GPT& model,
                                           const std::vector<std::vector<int64_t>>& prompts,
                                           const SamplingOptions& options,
                                           heed::Generator& generator,
                                           const TokenCallback& on_token = {});

// One token from a row of logits under the sampling options.
int64_t choose_token(const std::vector<double>& logits, const SamplingOptions& options,
                     heed::Generator& generator);

}  // namespace gpt
