// A GPT-2 checkpoint in Hugging Face's format (tests/data/gpt2_tiny, made and answered by
// transformers in tests/generate_gpt2_model.py) run by heed: the same logits, the same greedy
// tokens one by one and as a left-padded batch, the same loss; F16, BF16 and sharded files; and
// every kind of bad folder refused with its reason.
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "examples/gpt/generate.hpp"
#include "examples/gpt/perplexity.hpp"
#include "examples/gpt/pretrained.hpp"
#include "tests/helpers.hpp"

using namespace heed;
using namespace heed::testing;
namespace fs = std::filesystem;

namespace {

const fs::path kFolder = fs::path(HEED_TEST_DATA_DIR) / "gpt2_tiny";

nlohmann::json answers() {
  return nlohmann::json::parse(read_bytes(kFolder / "gpt2_answers.json"));
}

Tensor expected_logits(const std::string& name) {
  return load_safetensors(kFolder / "gpt2_answers_logits.safetensors").tensors.at(name);
}

// A model from a folder holding config.json and weights (no tokenizer needed).
std::shared_ptr<gpt::GPT> model_in(const fs::path& folder) {
  const gpt::GPTConfig config = gpt::gpt2_config_from_json(read_bytes(folder / "config.json"),
                                                           (folder / "config.json").string());
  auto model = std::make_shared<gpt::GPT>(config);
  gpt::load_gpt2_weights(*model, folder.string());
  model->eval();
  return model;
}

Tensor probe_logits(gpt::GPT& model, const std::vector<int64_t>& ids) {
  NoGradGuard no_grad;
  const Tensor input = int_tensor(ids, {1, int64_t(ids.size())});  // (1, T)
  return model.forward(input).select(0, 0);                        // (T, V)
}

}  // namespace

TEST_CASE("gpt2 pretrained: transformers' logits, greedy tokens and loss, from its own folder") {
  const gpt::Pretrained pretrained = gpt::load_pretrained(kFolder.string());
  const nlohmann::json a = answers();
  CHECK(pretrained.config.n_layer == 2);
  CHECK(pretrained.config.tie_weights);
  const std::vector<int64_t> probe = a["probe_ids"].get<std::vector<int64_t>>();
  CHECK(pretrained.tokenizer.encode(
            "First Citizen:\nBefore we proceed any further, hear me speak.") == probe);
  check_close(probe_logits(*pretrained.model, probe), expected_logits("probe_logits"), 1e-4, 0);

  // Greedy: each prompt alone, then all three as one left-padded batch (heed's KV cache).
  const auto prompts = a["prompt_ids"].get<std::vector<std::vector<int64_t>>>();
  for (size_t i = 0; i < prompts.size(); ++i) {
    CHECK(pretrained.tokenizer.encode(std::vector<std::string>{
              "It will rain in the", "I want to eat a big bowl of", "My dog is"}[i]) == prompts[i]);
  }
  gpt::SamplingOptions greedy;
  greedy.max_new_tokens = 12;
  greedy.temperature = 0;
  Generator generator(0);
  const auto one_by_one = a["greedy_one_by_one"].get<std::vector<std::vector<int64_t>>>();
  for (size_t i = 0; i < prompts.size(); ++i) {
    CHECK(gpt::generate(*pretrained.model, {prompts[i]}, greedy, generator)[0] == one_by_one[i]);
  }
  CHECK(gpt::generate(*pretrained.model, prompts, greedy, generator) ==
        a["greedy_batched"].get<std::vector<std::vector<int64_t>>>());

  // The mean next-token cross-entropy of one window, as model(ids, labels=ids).loss.
  const std::vector<int64_t> window = a["eval_window_ids"].get<std::vector<int64_t>>();
  const Tensor logits = probe_logits(*pretrained.model, window);  // (T, V)
  const int64_t t = logits.size(0);
  const Tensor targets =
      int_tensor(std::vector<int64_t>(window.begin() + 1, window.end()), {t - 1});  // (T - 1,)
  const double loss = nn::cross_entropy(logits.narrow(0, 0, t - 1), targets).item();
  CHECK(std::abs(loss - a["eval_window_loss"].get<double>()) < 1e-4);
}

TEST_CASE("gpt2 pretrained: F16 and BF16 checkpoints load as float32 and match transformers") {
  const std::vector<int64_t> probe = answers()["probe_ids"].get<std::vector<int64_t>>();
  for (const char* variant : {"f16", "bf16"}) {
    INFO(variant);
    const auto model = model_in(kFolder / (std::string("model_") + variant));
    check_close(probe_logits(*model, probe),
                expected_logits(std::string("probe_logits_") + variant), 1e-4, 0);
  }
}

TEST_CASE("gpt2 pretrained: a sharded checkpoint with its index loads the same weights") {
  TemporaryDirectory folder;
  fs::copy_file(kFolder / "config.json", folder.path / "config.json");
  const SafetensorsFile whole = load_safetensors(kFolder / "model.safetensors");
  std::map<std::string, Tensor> first, second;
  nlohmann::json weight_map = nlohmann::json::object();
  for (const auto& [name, value] : whole.tensors) {
    const bool early = name.find(".h.1.") == std::string::npos;
    (early ? first : second)[name] = value;
    weight_map[name] =
        early ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
  }
  save_safetensors(folder.path / "model-00001-of-00002.safetensors", first);
  save_safetensors(folder.path / "model-00002-of-00002.safetensors", second);
  write_bytes(folder.path / "model.safetensors.index.json",
              nlohmann::json{{"metadata", {{"total_size", 0}}}, {"weight_map", weight_map}}.dump());
  const std::vector<int64_t> probe = answers()["probe_ids"].get<std::vector<int64_t>>();
  check_close(probe_logits(*model_in(folder.path), probe), expected_logits("probe_logits"), 1e-4,
              0);

  // An index that points outside the folder, or at a shard without the tensor, is refused.
  nlohmann::json escaping = weight_map;
  escaping[weight_map.begin().key()] = "../model.safetensors";
  write_bytes(folder.path / "model.safetensors.index.json",
              nlohmann::json{{"weight_map", escaping}}.dump());
  check_error([&] { gpt::hf_weight_files(folder.path.string()); },
              {"not a plain file name in the folder"});
  nlohmann::json wrong = weight_map;
  wrong["transformer.wte.weight"] = "model-00002-of-00002.safetensors";
  write_bytes(folder.path / "model.safetensors.index.json",
              nlohmann::json{{"weight_map", wrong}}.dump());
  check_error([&] { gpt::hf_weight_files(folder.path.string()); },
              {"transformer.wte.weight", "does not hold it"});
}

TEST_CASE("gpt2 pretrained: bad folders, configs and weights are refused with their reason") {
  const std::string config = read_bytes(kFolder / "config.json");
  auto with = [&](const std::string& key, const nlohmann::json& value) {
    nlohmann::json j = nlohmann::json::parse(config);
    j[key] = value;
    return j.dump();
  };
  check_error([&] { gpt::gpt2_config_from_json(with("activation_function", "relu"), "c"); },
              {"activation_function", "relu"});
  check_error([&] { gpt::gpt2_config_from_json(with("model_type", "llama"), "c"); },
              {"model_type", "gpt2"});
  check_error([&] { gpt::gpt2_config_from_json(with("n_inner", 100), "c"); }, {"n_inner"});
  check_error([&] { gpt::gpt2_config_from_json(with("n_embd", 65), "c"); }, {"multiple of n_head"});
  check_error([&] { gpt::gpt2_config_from_json(with("n_layer", -1), "c"); }, {"n_layer"});
  check_error(
      [&] { gpt::gpt2_config_from_json(with("scale_attn_by_inverse_layer_idx", true), "c"); },
      {"scale_attn_by_inverse_layer_idx"});
  check_error([&] { gpt::gpt2_config_from_json("[]", "c"); }, {"expected a JSON object"});

  TemporaryDirectory folder;
  check_error([&] { gpt::load_pretrained((folder.path / "absent").string()); },
              {"is not a folder"});
  check_error([&] { gpt::load_pretrained(folder.path.string()); }, {"no config.json"});
  write_bytes(folder.path / "pytorch_model.bin", "not read");
  check_error([&] { gpt::hf_weight_files(folder.path.string()); },
              {"pytorch_model.bin", "safetensors only", "save_pretrained"});

  // Weights that do not fit: one missing, one unexpected, one of the wrong shape.
  std::map<std::string, Tensor> tensors = load_safetensors(kFolder / "model.safetensors").tensors;
  const gpt::GPTConfig c = gpt::gpt2_config_from_json(config, "c");
  gpt::GPT model(c);
  std::map<std::string, Tensor> broken = tensors;
  broken.erase("transformer.h.0.ln_1.weight");
  broken["transformer.h.9.mlp.c_fc.weight"] = zeros({2, 2});
  broken["transformer.h.1.attn.c_attn.weight"] = zeros({64, 64});
  check_error([&] { gpt::load_gpt2_tensors(model, broken, "w"); },
              {"missing: 'h.0.ln_1.weight'", "unexpected: 'h.9.mlp.c_fc.weight'",
               "wrong shape: 'h.1.attn.c_attn.weight' (64, 64) (expected (64, 192))"});
  // The "transformer." prefix is optional, the attention buffers are skipped.
  std::map<std::string, Tensor> plain;
  for (const auto& [name, value] : tensors) plain[name.substr(12)] = value;
  plain["h.0.attn.bias"] = zeros({1, 1, 128, 128});
  plain["h.0.attn.masked_bias"] = zeros({});
  CHECK_NOTHROW(gpt::load_gpt2_tensors(model, plain, "w"));
  // ... but a tensor there both with and without it is ambiguous.
  plain["transformer.wte.weight"] = tensors.at("transformer.wte.weight");
  check_error([&] { gpt::load_gpt2_tensors(model, plain, "w"); },
              {"'wte.weight'", "both with and without"});
}

TEST_CASE("gpt2 pretrained: a stop token ends its row only, keeping the token") {
  const gpt::Pretrained pretrained = gpt::load_pretrained(kFolder.string());
  const nlohmann::json a = answers();
  const auto prompts = a["prompt_ids"].get<std::vector<std::vector<int64_t>>>();
  const auto full = a["greedy_batched"].get<std::vector<std::vector<int64_t>>>();
  gpt::SamplingOptions greedy;
  greedy.max_new_tokens = 12;
  greedy.temperature = 0;
  greedy.stop_token = 199;  // "\n" here: every row makes one, at different steps
  Generator generator(0);
  const auto stopped = gpt::generate(*pretrained.model, prompts, greedy, generator);
  for (size_t i = 0; i < prompts.size(); ++i) {
    const auto end = std::find(full[i].begin(), full[i].end(), 199);
    REQUIRE(end != full[i].end());
    CHECK(stopped[i] == std::vector<int64_t>(full[i].begin(), end + 1));
  }
}

TEST_CASE("gpt sample --pretrained writes transformers' greedy tokens as JSON") {
  TemporaryDirectory folder;
  const fs::path json = folder.path / "out.json";
  const std::string command = fmt::format(
      "'{}' sample --pretrained '{}' --temperature 0 --max-new-tokens 12 --json '{}' "
      "'It will rain in the' 'I want to eat a big bowl of' 'My dog is' > '{}' 2>&1",
      HEED_GPT_EXE, kFolder.string(), json.string(), (folder.path / "log").string());
  REQUIRE_MESSAGE(std::system(command.c_str()) == 0, read_bytes(folder.path / "log"));
  const nlohmann::json out = nlohmann::json::parse(read_bytes(json));
  const nlohmann::json a = answers();
  CHECK(out["prompt_ids"] == a["prompt_ids"]);
  CHECK(out["generated_ids"] == a["greedy_batched"]);
  CHECK(out["texts"][0].get<std::string>().rfind("It will rain in the", 0) == 0);
  // One prompt streams its tokens; the streamed text is the decoded whole (a token that ends
  // inside a character is held back until the character is complete).
  const std::string streaming = fmt::format(
      "'{}' sample --pretrained '{}' --temperature 0 --max-new-tokens 12 --json '{}' "
      "'My dog is' > '{}' 2> /dev/null",
      HEED_GPT_EXE, kFolder.string(), json.string(), (folder.path / "stream").string());
  REQUIRE(std::system(streaming.c_str()) == 0);
  const nlohmann::json alone = nlohmann::json::parse(read_bytes(json));
  CHECK(read_bytes(folder.path / "stream") == alone["texts"][0].get<std::string>() + "\n");
  // Past the model's 128 positions: one clear line, exit 2.
  const std::string too_long =
      fmt::format("'{}' sample --pretrained '{}' --max-new-tokens 200 'My dog is' > '{}' 2>&1",
                  HEED_GPT_EXE, kFolder.string(), (folder.path / "log").string());
  CHECK(WEXITSTATUS(std::system(too_long.c_str())) == 2);
  CHECK(read_bytes(folder.path / "log").find("exceeds the block size 128") != std::string::npos);
}

TEST_CASE(
    "gpt2 pretrained: strided perplexity equals the perplexity guide's, run by transformers") {
  const fs::path text_file = fs::path(HEED_SHARED_DATA_DIR) / "tinyshakespeare" / "input.txt";
  if (!shared_data_present(text_file)) return;
  const nlohmann::json expected = answers()["strided_eval"];
  const gpt::Pretrained pretrained = gpt::load_pretrained(kFolder.string());
  // The last 4,000 characters (code points) of the text, as Python slices a str.
  const std::string text = read_bytes(text_file);
  size_t start = text.size();
  for (int characters = 0; characters < expected["characters"].get<int>() && start > 0;) {
    --start;
    if ((static_cast<unsigned char>(text[start]) & 0xC0) != 0x80) ++characters;
  }
  const std::vector<int64_t> ids = pretrained.tokenizer.encode(text.substr(start));
  CHECK(int64_t(ids.size()) == expected["tokens"].get<int64_t>());
  const gpt::PerplexityResult r =
      gpt::strided_perplexity(*pretrained.model, ids, 128, expected["stride"].get<int64_t>());
  CHECK(r.scored == expected["scored"].get<int64_t>());
  CHECK(std::abs(r.mean_nll - expected["mean_nll"].get<double>()) < 1e-4);
  check_error([&] { gpt::strided_perplexity(*pretrained.model, ids, 128, 0); }, {"--stride 0"});
  check_error([&] { gpt::strided_perplexity(*pretrained.model, {5}, 128, 8); }, {"at least 2"});
}
