// Prompt processing (prefill) of a GPT-2 folder in Hugging Face's format: forward passes of one
// prompt through the model, timed one by one in the same process. The first pass is what a fresh
// process pays (every activation buffer is new memory); the later ones are the steady rate of a
// program that keeps the model loaded, which is what PyTorch's side of bench/compare_gpt2.py
// times too. Prints one JSON line:
//   {"tokens": T, "first_s": ..., "later_s": [...], "median_s": ...}
//
// Usage: gpt2_prefill FOLDER IDS_JSON [REPEATS] [THREADS]
//   IDS_JSON: a file holding one JSON list of token ids (the prompt)
// With HEED_PROFILE=1 it prints, at exit, where the passes' time went (engine/profiler.hpp).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "examples/common/checks.hpp"
#include "examples/gpt/pretrained.hpp"

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int run(int argc, char** argv) {
  if (argc < 3 || argc > 5) {
    fmt::print(stderr, "usage: gpt2_prefill FOLDER IDS_JSON [REPEATS] [THREADS]\n");
    return 2;
  }
  // Checked before any work: a heed::Error naming the argument and its range.
  const int64_t repeats =
      argc > 3 ? examples::parse_whole_number(argv[3], "REPEATS", {1, 1000}) : 5;
  if (argc > 4) {
    heed::set_num_threads(
        static_cast<int32_t>(examples::parse_whole_number(argv[4], "THREADS", {1, 1024})));
  }
  std::ifstream ids_file(argv[2]);
  if (!ids_file) heed::fail("gpt2_prefill: cannot read {}", argv[2]);
  const std::vector<int64_t> ids = nlohmann::json::parse(ids_file).get<std::vector<int64_t>>();
  const gpt::Pretrained pretrained = gpt::load_pretrained(argv[1]);
  pretrained.model->eval();
  const auto count = static_cast<int64_t>(ids.size());
  const heed::Tensor prompt = heed::int_tensor(ids, {1, count});  // (1, T)

  heed::NoGradGuard no_grad;
  heed::profiler::reset();  // with HEED_PROFILE=1, the table at exit shows the passes only
  std::vector<double> times;
  for (int64_t pass = 0; pass <= repeats; ++pass) {
    const auto start = std::chrono::steady_clock::now();
    const heed::Tensor logits = pretrained.model->forward(prompt);  // (1, T, V)
    times.push_back(seconds_since(start));
  }
  std::vector<double> later(times.begin() + 1, times.end());
  std::vector<double> sorted = later;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted.empty() ? times[0] : sorted[sorted.size() / 2];
  const nlohmann::json out = {
      {"tokens", count}, {"first_s", times[0]}, {"later_s", later}, {"median_s", median}};
  fmt::print("{}\n", out.dump());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    fmt::print(stderr, "gpt2_prefill: {}\n", e.what());
    return 2;
  }
}
