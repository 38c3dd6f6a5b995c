// The GPT example: causality, the key/value cache, batched left-padded generation, training,
// exact resume and bad input.
#include <filesystem>
#include <fstream>
#include <random>

#include "examples/gpt/generate.hpp"
#include "examples/gpt/train.hpp"
#include "tests/helpers.hpp"

using namespace heed;
using namespace heed::testing;
using namespace gpt;
namespace fs = std::filesystem;

namespace {

GPT small_model(uint64_t seed, int64_t vocab = 11, int64_t block = 24) {
  manual_seed(seed);
  GPTConfig config = GPTConfig::preset("nano");
  config.vocab_size = vocab, config.block_size = block;
  return GPT(config);
}

fs::path temporary_path(const std::string& name) {
  return fs::temp_directory_path() / fmt::format("heed-gpt-{}-{}", std::random_device{}(), name);
}

}  // namespace

TEST_CASE("gpt: changing token t never changes the logits before t") {
  GPT model = small_model(1);
  model.eval();
  NoGradGuard no_grad;
  const Tensor ids = randint(0, 11, {2, 12});
  const Tensor base = model.forward(ids);
  for (int64_t t : {0, 5, 11}) {
    std::vector<int64_t> values = ids.to_vector<int64_t>();
    for (int64_t row = 0; row < 2; ++row) {
      int64_t& token = values[static_cast<size_t>(row * 12 + t)];
      token = (token + 1) % 11;
    }
    const Tensor logits = model.forward(int_tensor(values, {2, 12}));
    if (t > 0) check_close(logits.narrow(1, 0, t), base.narrow(1, 0, t), 0, 0);
    CHECK((logits.narrow(1, t, 1) - base.narrow(1, t, 1)).abs().max().item() > 0);
  }
}

TEST_CASE("gpt: the cached forward equals the uncached forward") {
  GPT model = small_model(2);
  model.eval();
  NoGradGuard no_grad;
  const Tensor ids = randint(0, 11, {3, 10});
  const Tensor full = model.forward(ids);  // (3, 10, V)
  std::vector<nn::KVCache> caches;
  std::vector<Tensor> pieces{model.forward(ids.narrow(1, 0, 4), {.caches = &caches})};
  for (int64_t t = 4; t < 10; ++t)
    pieces.push_back(model.forward(ids.narrow(1, t, 1), {.caches = &caches}));
  check_close(cat(pieces, 1), full, 1e-5, 1e-5);
}

TEST_CASE("gpt: last_position_only gives the full forward's last logits, for the tied head too") {
  for (const bool tied : {false, true}) {
    manual_seed(3);
    GPTConfig config = GPTConfig::preset("nano");
    config.vocab_size = 11, config.block_size = 24, config.tie_weights = tied;
    GPT model(config);
    model.eval();
    NoGradGuard no_grad;
    const Tensor ids = randint(0, 11, {2, 7});
    const Tensor full = model.forward(ids);                                // (2, 7, V)
    const Tensor last = model.forward(ids, {.last_position_only = true});  // (2, 1, V)
    CHECK(last.shape() == Shape{2, 1, 11});
    check_close(last, full.narrow(1, 6, 1), 1e-5, 1e-5);
  }
}

TEST_CASE("gpt: batched left-padded greedy generation equals generating each prompt alone") {
  GPT model = small_model(3);
  const std::vector<std::vector<int64_t>> prompts{
      {1, 2, 3, 4, 5, 6, 7}, {9}, {4, 4, 2}, {10, 0, 1, 5, 8}};
  const SamplingOptions greedy{.max_new_tokens = 8, .temperature = 0};
  Generator unused(0);
  std::vector<std::vector<int64_t>> alone;
  for (const auto& p : prompts) alone.push_back(generate(model, {p}, greedy, unused)[0]);
  const std::vector<std::vector<size_t>> compositions{{0, 1, 2, 3}, {1, 0}, {2, 3, 1}, {3, 3, 1}};
  for (const auto& composition : compositions) {
    std::vector<std::vector<int64_t>> batch;
    for (size_t i : composition) batch.push_back(prompts[i]);
    const auto outputs = generate(model, batch, greedy, unused);
    for (size_t k = 0; k < composition.size(); ++k) {
      INFO("prompt " << composition[k] << " in a batch of " << composition.size());
      CHECK(outputs[k] == alone[composition[k]]);
    }
  }
}

TEST_CASE("gpt: sampling options choose among the allowed tokens") {
  Generator generator(5);
  const std::vector<double> logits{0.0, 3.0, 1.0, 2.9};
  CHECK(choose_token(logits, {.temperature = 0}, generator) == 1);
  for (int i = 0; i < 200; ++i) {
    const int64_t top2 = choose_token(logits, {.temperature = 1.0, .top_k = 2}, generator);
    CHECK((top2 == 1 || top2 == 3));
    const int64_t nucleus = choose_token(logits, {.temperature = 1.0, .top_p = 0.01}, generator);
    CHECK(nucleus == 1);
  }
}

TEST_CASE("gpt: a few seconds of training on addition bring the loss down") {
  const fs::path checkpoint = temporary_path("smoke.safetensors");
  TrainOptions options;
  options.steps = 300, options.eval_interval = 300, options.log_interval = 300;
  options.checkpoint = checkpoint.string();
  const double val_loss = train(options);
  CHECK(val_loss < 1.8);  // ln(10) = 2.30 for a model that knows nothing
  fs::remove(checkpoint);
}

TEST_CASE("gpt: an interrupted and resumed run ends with the same weights") {
  const fs::path straight = temporary_path("straight.safetensors");
  const fs::path resumed = temporary_path("resumed.safetensors");
  TrainOptions options;
  options.steps = 40, options.eval_interval = 20, options.log_interval = 20, options.dropout = 0.1;
  options.checkpoint = straight.string();
  train(options);
  options.checkpoint = resumed.string();
  options.stop_at = 20;
  train(options);  // interrupted after step 20, with a checkpoint
  options.stop_at = 0, options.resume = true;
  train(options);
  check_same_tensors(straight, resumed);
  fs::remove(straight);
  fs::remove(resumed);
}

TEST_CASE("gpt: bad input is a clear error") {
  const Vocabulary digits({"0", "1", "2"});
  check_error([&] { digits.encode("12x"); }, {"'x'", "position 2", "vocabulary of 3"});
  GPT model = small_model(4, 11, 8);
  Generator generator(0);
  check_error(
      [&] {
        generate(model, {{1, 2, 3, 4, 5}}, {.max_new_tokens = 4}, generator);
      },
      {"5 tokens", "4 new tokens", "block size 8"});
  check_error([&] { model.forward(randint(0, 11, {1, 9})); }, {"9 positions", "block size 8"});
  check_error(
      [&] {
        model.forward(randint(0, 11, {2, 0}), {.last_position_only = true});
      },
      {"last_position_only", "(2, 0)"});
  check_error([&] { generate(model, {{}}, {}, generator); }, {"prompt is empty"});

  const fs::path path = temporary_path("wrong.safetensors");
  nn::save_checkpoint(path, small_model(5, 11, 16));
  check_error([&] { nn::load_checkpoint(path, model); },
              {"wpe.weight (expected (8, 48), found (16, 48))"});
  fs::remove(path);

  const fs::path empty = temporary_path("empty.txt");
  std::ofstream(empty).close();
  check_error([&] { TextTask(empty.string(), 8); }, {"is empty"});
  fs::remove(empty);
  check_error([] { GPTConfig::preset("giant"); }, {"unknown preset 'giant'"});
  TrainOptions zero_batch;
  zero_batch.batch_size = 0;
  check_error([&] { train(zero_batch); }, {"--batch-size must be in [1, 65536], got 0"});
}

TEST_CASE("gpt: tied weights share the embedding matrix with the output layer") {
  manual_seed(8);
  GPTConfig config = GPTConfig::preset("nano");
  config.vocab_size = 11, config.block_size = 16, config.tie_weights = true;
  GPT tied(config);
  const nn::StateDict state = tied.state_dict();
  CHECK(!state.contains("lm_head.weight"));
  const Tensor logits = tied.forward(randint(0, 11, {2, 5}));  // (B, T, V)
  CHECK(logits.shape() == Shape{2, 5, 11});
  logits.sum().backward();
  // The shared matrix gets gradient from the lookup and from the output layer: a token that is
  // never looked up still has a gradient row, through the logits.
  Tensor grad;
  for (const auto& [name, p] : tied.named_parameters()) {
    if (name == "wte.weight") grad = p.grad();
  }
  REQUIRE(grad.defined());
  CHECK(grad.abs().sum({1}).amin().item() > 0);
  config.tie_weights = false;
  CHECK(GPT(config).num_parameters() == tied.num_parameters() + 11 * 48);
}

TEST_CASE("gpt: character-level training on Tiny Shakespeare brings the loss down") {
  // The project's data lives beside the checkout; CI has it, a bare clone may not.
  const fs::path data = fs::path(HEED_SHARED_DATA_DIR) / "tinyshakespeare" / "input.txt";
  if (!shared_data_present(data)) return;
  const TextTask task(data.string(), 32);
  CHECK(task.vocabulary()->size() == 65);  // Tiny Shakespeare's characters
  const fs::path checkpoint = temporary_path("shakespeare.safetensors");
  TrainOptions options;
  options.data = data.string();
  options.preset = "tiny";
  options.block_size = 32;
  options.batch_size = 16;
  options.steps = 150, options.eval_interval = 150, options.log_interval = 150;
  options.checkpoint = checkpoint.string();
  CHECK(train(options) < 3.0);  // ln(65) = 4.17 knows nothing; 150 steps learn letter statistics
  fs::remove(checkpoint);
}
