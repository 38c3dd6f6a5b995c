// Fine-tuning a GPT-2 in Hugging Face's format (gpt train --init-from), and writing heed's GPT
// back in that format (gpt export --hf): the loss falls on a text the model never saw, the run
// resumes exactly, the checkpoint carries GPT-2's tokenizer to `gpt sample`, and an export
// holds exactly the weights it was given, in GPT-2's names and layout.
#include <sys/wait.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "examples/gpt/export_hf.hpp"
#include "examples/gpt/pretrained.hpp"
#include "examples/gpt/train.hpp"
#include "tests/helpers.hpp"

using namespace heed;
using namespace heed::testing;
namespace fs = std::filesystem;

namespace {

const fs::path kFolder = fs::path(HEED_TEST_DATA_DIR) / "gpt2_tiny";

// A text the tiny model (trained on Shakespeare) has not seen, repeated so that a few dozen
// steps can learn it.
const std::string kSentence = "It will rain in the morning, said the dog to the cat.\n";

std::string repeated_text(int times) {
  std::string text;
  for (int i = 0; i < times; ++i) text += kSentence;
  return text;
}

gpt::TrainOptions fine_tuning(const fs::path& data, const fs::path& checkpoint) {
  gpt::TrainOptions o;
  o.init_from = kFolder.string();
  o.data = data.string();
  o.block_size = 24;
  o.batch_size = 4;
  o.steps = 24;
  o.lr = 3e-3;
  o.warmup = 0;
  o.eval_interval = 12;
  o.eval_batches = 2;
  o.log_interval = 12;
  o.checkpoint = checkpoint.string();
  return o;
}

// Mean next-token cross-entropy of `ids` under `model`, one window.
double window_loss(gpt::GPT& model, const std::vector<int64_t>& ids) {
  NoGradGuard no_grad;
  model.eval();
  const int64_t t = static_cast<int64_t>(ids.size());
  const Tensor logits = model.forward(int_tensor(ids, {1, t})).select(0, 0);  // (T, V)
  const Tensor targets =
      int_tensor(std::vector<int64_t>(ids.begin() + 1, ids.end()), {t - 1});  // (T - 1,)
  return nn::cross_entropy(logits.narrow(0, 0, t - 1), targets).item();
}

// A heed checkpoint's model, built from the config in its metadata.
std::shared_ptr<gpt::GPT> checkpoint_model(const fs::path& checkpoint) {
  const nn::Metadata metadata = nn::read_checkpoint_metadata(checkpoint);
  auto model = std::make_shared<gpt::GPT>(gpt::GPTConfig::from_json(metadata.at("config")));
  nn::load_checkpoint(checkpoint, *model);
  model->eval();
  return model;
}

int run_quietly(const std::string& command, const fs::path& log) {
  const int status = std::system(fmt::format("{} > '{}' 2>&1", command, log.string()).c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("gpt train --init-from: the loss falls, the run resumes exactly, the tokenizer travels") {
  TemporaryDirectory dir;
  const fs::path data = dir.path / "text.txt";
  write_bytes(data, repeated_text(60));
  const gpt::Pretrained pretrained = gpt::load_pretrained(kFolder.string());
  const std::vector<int64_t> sentence = pretrained.tokenizer.encode(kSentence + kSentence);
  const double before = window_loss(*pretrained.model, sentence);

  const fs::path straight = dir.path / "straight.safetensors";
  const double val_loss = gpt::train(fine_tuning(data, straight));
  const auto tuned = checkpoint_model(straight);
  const double after = window_loss(*tuned, sentence);
  INFO("loss before " << before << ", after " << after << ", val " << val_loss);
  CHECK(after < 0.5 * before);
  CHECK(val_loss < 0.5 * before);
  // The config is GPT-2's, the weights moved, the BPE and the sequence length are in the file.
  CHECK(tuned->config().vocab_size == pretrained.config.vocab_size);
  CHECK(tuned->config().tie_weights);
  const nn::Metadata metadata = nn::read_checkpoint_metadata(straight);
  CHECK(metadata.count("vocabulary") == 0);
  CHECK(metadata.at("context") == "24");
  const gpt::ByteLevelBPE carried =
      gpt::ByteLevelBPE::from_json(metadata.at("tokenizer"), "checkpoint");
  CHECK(carried.encode(kSentence) == pretrained.tokenizer.encode(kSentence));
  CHECK(carried.vocab_json() == pretrained.tokenizer.vocab_json());
  CHECK(carried.merges_txt() == pretrained.tokenizer.merges_txt());
  CHECK(carried.added_token_id("<|endoftext|>") == 0);

  // Stopped halfway and resumed: the same weights and optimizer state as the straight run.
  const fs::path resumed = dir.path / "resumed.safetensors";
  gpt::TrainOptions first_half = fine_tuning(data, resumed);
  first_half.stop_at = 12;
  gpt::train(first_half);
  gpt::TrainOptions second_half = fine_tuning(data, resumed);
  second_half.resume = true;
  second_half.init_from.clear();   // the checkpoint holds everything
  second_half.block_size.reset();  // the sequence length comes from the checkpoint
  gpt::train(second_half);
  check_same_tensors(straight, resumed);

  // gpt sample --checkpoint reads the BPE from the file: the fine-tuned sentence comes back.
  const fs::path json = dir.path / "sample.json";
  REQUIRE(run_quietly(fmt::format("'{}' sample --checkpoint '{}' --temperature 0 "
                                  "--max-new-tokens 6 --json '{}' 'It will rain'",
                                  HEED_GPT_EXE, straight.string(), json.string()),
                      dir.path / "log") == 0);
  const nlohmann::json out = nlohmann::json::parse(read_bytes(json));
  CHECK(out["prompt_ids"][0] == pretrained.tokenizer.encode("It will rain"));
  CHECK(out["texts"][0].get<std::string>().rfind("It will rain in the morning", 0) == 0);
}

TEST_CASE("gpt export --hf: GPT-2's names, Conv1D layout and tokenizer, loaded back exactly") {
  TemporaryDirectory dir;
  // The test model, loaded and written again: every tensor of the original, bit for bit.
  const gpt::Pretrained pretrained = gpt::load_pretrained(kFolder.string());
  const fs::path again = dir.path / "again";
  gpt::export_hf(*pretrained.model, &pretrained.tokenizer, again.string());
  const SafetensorsFile original = load_safetensors(kFolder / "model.safetensors");
  const SafetensorsFile exported = load_safetensors(again / "model.safetensors");
  CHECK(exported.metadata.at("format") == "pt");
  size_t compared = 0;
  for (const auto& entry : original.tensors) {
    const std::string& name = entry.first;  // named: clang 14 cannot capture a binding in INFO
    if (name.ends_with(".attn.bias") || name.ends_with(".attn.masked_bias")) continue;
    INFO(name);
    REQUIRE(exported.tensors.count(name) == 1);
    check_close(exported.tensors.at(name), entry.second.to(kFloat32), 0, 0);
    ++compared;
  }
  CHECK(compared == exported.tensors.size());
  const nlohmann::json config = nlohmann::json::parse(read_bytes(again / "config.json"));
  const nlohmann::json source = nlohmann::json::parse(read_bytes(kFolder / "config.json"));
  for (const char* key : {"n_embd", "n_layer", "n_head", "n_positions", "vocab_size",
                          "layer_norm_epsilon", "activation_function"}) {
    CHECK_MESSAGE(config.at(key) == source.at(key), key);
  }
  CHECK(config.at("model_type") == "gpt2");
  // The tokenizer files alone (no tokenizer.json) give the same ids, <|endoftext|> included.
  const gpt::ByteLevelBPE tokenizer = gpt::ByteLevelBPE::from_folder(again.string());
  const std::string text = "First Citizen:\nBefore we proceed<|endoftext|> any further.";
  CHECK(tokenizer.encode(text) == pretrained.tokenizer.encode(text));

  // An untied model keeps its own lm_head, and a fresh GPT of heed's shape round-trips through
  // the loader with the same logits.
  gpt::GPTConfig untied = pretrained.config;
  untied.tie_weights = false;
  untied.exact_gelu = true;
  manual_seed(3);
  gpt::GPT model(untied);
  model.eval();
  const fs::path untied_folder = dir.path / "untied";
  gpt::export_hf(model, nullptr, untied_folder.string());
  CHECK(load_safetensors(untied_folder / "model.safetensors").tensors.count("lm_head.weight") == 1);
  CHECK(!fs::exists(untied_folder / "vocab.json"));
  const gpt::GPTConfig read_back =
      gpt::gpt2_config_from_json(read_bytes(untied_folder / "config.json"), "exported config.json");
  CHECK(!read_back.tie_weights);
  CHECK(read_back.exact_gelu);
  gpt::GPT loaded(read_back);
  gpt::load_gpt2_weights(loaded, untied_folder.string());
  loaded.eval();
  const std::vector<int64_t> probe = {5, 17, 300, 2, 999, 64};
  NoGradGuard no_grad;
  check_close(loaded.forward(int_tensor(probe, {1, 6})), model.forward(int_tensor(probe, {1, 6})),
              0, 0);

  // A folder holding another model's tokenizer.json (or, for a model without a tokenizer, any
  // tokenizer file) is refused, as is a file.
  write_bytes(untied_folder / "merges.txt", "#version: 0.2\n");
  check_error([&] { gpt::export_hf(model, nullptr, untied_folder.string()); },
              {"merges.txt", "as this model's tokenizer"});
  fs::remove(untied_folder / "merges.txt");
  write_bytes(untied_folder / "tokenizer.json", "{}");
  check_error(
      [&] {
        gpt::export_hf(pretrained.model.operator*(), &pretrained.tokenizer, untied_folder.string());
      },
      {"tokenizer.json", "as this model's tokenizer"});
  write_bytes(dir.path / "a_file", "x");
  check_error([&] { gpt::export_hf(model, nullptr, (dir.path / "a_file").string()); },
              {"not a directory"});
}

TEST_CASE("gpt train --init-from and gpt export: bad flags and files are refused clearly") {
  TemporaryDirectory dir;
  const fs::path data = dir.path / "text.txt";
  write_bytes(data, repeated_text(60));
  gpt::TrainOptions o = fine_tuning(data, dir.path / "x.safetensors");
  o.block_size = 129;
  check_error([&] { gpt::train(o); }, {"--block-size 129", "128 positions"});
  o = fine_tuning(data, dir.path / "x.safetensors");
  o.n_layer = 4;
  check_error([&] { gpt::train(o); }, {"--init-from", "--n-layer"});
  o = fine_tuning(data, dir.path / "x.safetensors");
  o.data.clear();
  check_error([&] { gpt::train(o); }, {"--init-from needs --data"});
  // A tokenizer with more ids than the model's vocabulary is refused wherever the two meet.
  const gpt::ByteLevelBPE tokenizer = gpt::ByteLevelBPE::from_folder(kFolder.string());
  check_error([&] { tokenizer.check_fits(1000, "here"); },
              {"here: the tokenizer has 1024 ids but the model's vocabulary is 1000"});
  check_error([&] { gpt::TextTask(data.string(), 24, tokenizer, 1000); },
              {"text.txt", "1024 ids", "vocabulary is 1000"});
  write_bytes(dir.path / "short.txt", kSentence);
  o = fine_tuning(dir.path / "short.txt", dir.path / "x.safetensors");
  check_error([&] { gpt::train(o); }, {"too short", "tokens"});
  // A checkpoint whose tokenizer entry was tampered with names the entry.
  const fs::path checkpoint = dir.path / "tuned.safetensors";
  o = fine_tuning(data, checkpoint);
  o.steps = 1;
  gpt::train(o);
  SafetensorsFile file = load_safetensors(checkpoint);
  file.metadata["tokenizer"] = R"({"vocab": {"a": 0}, "merges": [], "added_tokens": []})";
  save_safetensors(checkpoint, file.tensors, file.metadata);
  o.resume = true;
  o.steps = 2;
  check_error([&] { gpt::train(o); }, {"tokenizer", "vocab.json", "256"});
}
