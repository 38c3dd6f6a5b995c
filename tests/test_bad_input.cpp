// The bad-input table: every reproducer of the hostile-input audit, run as a user would run it,
// against the built programs. Each must exit with status 2 and print exactly one line naming
// what was expected and what was found: never a crash, a hang, a raw library message or a
// silent success. The files it needs (a deep-nested header, a checkpoint whose config asks for
// zero heads, a renamed optimizer entry, ...) are made here from two small real checkpoints.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "nn/nn.hpp"
#include "tests/helpers.hpp"

using namespace heed;
using namespace heed::testing;
namespace fs = std::filesystem;

namespace {

struct Run {
  int status = -1;  // the exit status; -1 when killed by a signal or the time limit
  std::vector<std::string> stderr_lines;
  std::string stdout_text;
};

// Runs `command` (a shell command line, pipes allowed) in `dir` with a time limit and no
// standard input, capturing both streams.
Run run(const fs::path& dir, const std::string& command, int seconds = 60) {
  const fs::path out = dir / "stdout.txt", err = dir / "stderr.txt", script = dir / "case.sh";
  write_bytes(script, command + "\n");
  const std::string line =
      fmt::format("cd '{}' && timeout -s KILL {} bash '{}' < /dev/null > '{}' 2> '{}'",
                  dir.string(), seconds, script.string(), out.string(), err.string());
  const int raw = std::system(line.c_str());
  Run result;
  result.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  if (result.status == 137) result.status = -1;  // timeout's KILL
  result.stdout_text = read_bytes(out);
  std::string text = read_bytes(err);
  for (size_t start = 0; start < text.size();) {
    const size_t end = text.find('\n', start);
    result.stderr_lines.push_back(text.substr(start, end - start));
    start = end == std::string::npos ? text.size() : end + 1;
  }
  return result;
}

struct Case {
  std::string category, command;
  std::vector<std::string> fragments;  // each must appear in the one line printed
};

// Rewrites a checkpoint with one change: to its metadata or to its tensors.
void rewrite(const fs::path& from, const fs::path& to,
             const std::function<void(SafetensorsFile&)>& change) {
  SafetensorsFile file = load_safetensors(from);
  change(file);
  save_safetensors(to, file.tensors, file.metadata);
}

// A safetensors file made by hand, for headers heed's writer would never produce.
void write_raw_safetensors(const fs::path& path, const std::string& header,
                           const std::string& data) {
  std::string bytes(8, '\0');
  const uint64_t length = header.size();
  std::memcpy(bytes.data(), &length, 8);
  write_bytes(path, bytes + header + data);
}

}  // namespace

TEST_CASE("the bad-input table: every audit reproducer exits 2 with one clear line") {
  TemporaryDirectory dir;
  const std::string gpt = fmt::format("'{}' --threads 1", HEED_GPT_EXE);
  const std::string bahdanau = fmt::format("'{}' --threads 1", HEED_BAHDANAU_EXE);

  // Two small real checkpoints to start from.
  REQUIRE(run(dir.path, gpt + " train --steps 2 --eval-interval 1 --eval-batches 1 "
                              "--checkpoint gpt.safetensors")
              .status == 0);
  REQUIRE(run(dir.path, bahdanau + " train --epochs 1 --date-pairs 200 --date-held-out 10 "
                                   "--checkpoint bahdanau.safetensors")
              .status == 0);
  const fs::path good_gpt = dir.path / "gpt.safetensors";
  const fs::path good_bahdanau = dir.path / "bahdanau.safetensors";
  auto with_config = [&](const fs::path& from, const std::string& name, const std::string& key,
                         const std::string& value) {
    rewrite(from, dir.path / name, [&](SafetensorsFile& f) {
      nlohmann::json config = nlohmann::json::parse(f.metadata.at("config"));
      config[key] = nlohmann::json::parse(value);
      f.metadata["config"] = config.dump();
    });
  };
  with_config(good_gpt, "zero_heads.safetensors", "n_head", "0");
  with_config(good_gpt, "huge_layers.safetensors", "n_layer", "1000000000000");
  with_config(good_bahdanau, "huge_rnn.safetensors", "num_layers", "1000000000000");
  rewrite(good_gpt, dir.path / "step_1e300.safetensors", [](SafetensorsFile& f) {
    f.tensors.at("optimizer/state.3.step") = scalar_tensor(1e300, {kFloat64});
  });
  // The audit's renamed Adam entry: parameter i's exp_avg_sq saved under i + 1, where the two
  // parameters have the same shape (so no shape check can notice).
  int64_t renamed = -1;
  rewrite(good_gpt, dir.path / "renamed_adam.safetensors", [&](SafetensorsFile& f) {
    auto key = [](int64_t i) { return fmt::format("optimizer/state.{}.exp_avg_sq", i); };
    for (int64_t i = 0; f.tensors.contains(key(i + 1)); ++i) {
      if (f.tensors.at(key(i)).shape() == f.tensors.at(key(i + 1)).shape()) {
        renamed = i;
        break;
      }
    }
    REQUIRE(renamed >= 0);
    f.tensors[key(renamed + 1)] = f.tensors.at(key(renamed));
    f.tensors.erase(key(renamed));
  });
  rewrite(good_gpt, dir.path / "other_format.safetensors",
          [](SafetensorsFile& f) { f.metadata["heed.format"] = "heed-checkpoint-7"; });
  rewrite(good_gpt, dir.path / "short_vocabulary.safetensors",
          [](SafetensorsFile& f) { f.metadata["vocabulary"] = R"(["0","1","2"])"; });
  rewrite(good_gpt, dir.path / "step_text.safetensors",
          [](SafetensorsFile& f) { f.metadata["step"] = "two"; });
  rewrite(good_gpt, dir.path / "batch_zero.safetensors",
          [](SafetensorsFile& f) { f.metadata["batch_size"] = std::to_string(0); });
  rewrite(good_gpt, dir.path / "no_config.safetensors",
          [](SafetensorsFile& f) { f.metadata.erase("config"); });
  rewrite(good_gpt, dir.path / "vocabulary_object.safetensors",
          [](SafetensorsFile& f) { f.metadata["vocabulary"] = R"({"a": 1})"; });
  rewrite(good_gpt, dir.path / "config_not_json.safetensors",
          [](SafetensorsFile& f) { f.metadata["config"] = "{bad"; });
  rewrite(good_bahdanau, dir.path / "repeated_token.safetensors", [](SafetensorsFile& f) {
    nlohmann::json vocab = nlohmann::json::parse(f.metadata.at("source_vocab"));
    vocab.push_back(vocab[4]);
    f.metadata["source_vocab"] = vocab.dump();
  });
  rewrite(good_bahdanau, dir.path / "negative_seed.safetensors", [](SafetensorsFile& f) {
    nlohmann::json training = nlohmann::json::parse(f.metadata.at("training"));
    training["seed"] = -1;
    f.metadata["training"] = training.dump();
  });
  {  // A flipped bit in the tensor data.
    std::string bytes = read_bytes(good_gpt);
    bytes[bytes.size() - 100] = static_cast<char>(bytes[bytes.size() - 100] ^ 0x04);
    write_bytes(dir.path / "flipped.safetensors", bytes);
  }
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  write_raw_safetensors(dir.path / "deep_dtype.safetensors",
                        R"({"w":{"dtype":)" + deep + R"(,"shape":[1],"data_offsets":[0,4]}})",
                        std::string(4, '\0'));
  write_raw_safetensors(dir.path / "deep_shape.safetensors",
                        R"({"w":{"dtype":"F32","shape":[)" + deep + R"(],"data_offsets":[0,4]}})",
                        std::string(4, '\0'));
  write_raw_safetensors(dir.path / "overlap.safetensors",
                        R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                        R"("b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                        std::string(4, '\0'));
  write_raw_safetensors(dir.path / "duplicate.safetensors",
                        R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                        R"("a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                        std::string(4, '\0'));
  REQUIRE(::mkfifo((dir.path / "fifo").c_str(), 0600) == 0);
  fs::create_directories(dir.path / "a_directory");
  write_bytes(dir.path / "overlong.txt", std::string("abc\xC0\xAF", 5) + std::string(2000, 'x'));
  write_bytes(dir.path / "surrogate.txt",
              std::string("abc\xED\xA0\x80", 6) + std::string(2000, 'x'));
  write_bytes(dir.path / "bad_utf8.tsv", "go .\tva !\n\xFF\xFE .\tx\n");

  // GPT-2 folders in Hugging Face's format, each with one thing wrong.
  const fs::path gpt2 = fs::path(HEED_TEST_DATA_DIR) / "gpt2_tiny";
  auto gpt2_copy = [&](const std::string& name) {
    const fs::path folder = dir.path / name;
    fs::create_directories(folder);
    for (const char* file : {"config.json", "vocab.json", "merges.txt", "tokenizer.json",
                             "tokenizer_config.json", "model.safetensors"}) {
      fs::copy_file(gpt2 / file, folder / file);
    }
    return folder;
  };
  const fs::path only_bin = gpt2_copy("only_bin");
  fs::remove(only_bin / "model.safetensors");
  write_bytes(only_bin / "pytorch_model.bin", "PK\x03\x04 a pickle");
  write_bytes(gpt2_copy("bad_vocab") / "vocab.json", "[1, 2, 3]");
  fs::remove(dir.path / "bad_vocab" / "tokenizer.json");
  const fs::path relu = gpt2_copy("relu");
  nlohmann::json relu_config = nlohmann::json::parse(read_bytes(relu / "config.json"));
  relu_config["activation_function"] = "relu";
  write_bytes(relu / "config.json", relu_config.dump());
  const fs::path escaping = gpt2_copy("escaping");
  fs::remove(escaping / "model.safetensors");
  write_bytes(escaping / "model.safetensors.index.json",
              R"({"weight_map": {"transformer.wte.weight": "../only_bin/model.safetensors"}})");
  const std::string pretrained = gpt + " sample --pretrained ";
  const std::string init_from = gpt + " train --init-from '" + gpt2.string() + "'";
  std::string repeated;
  for (int i = 0; i < 60; ++i) repeated += "It will rain in the morning, said the dog.\n";
  write_bytes(dir.path / "sentences.txt", repeated);
  fs::create_directories(dir.path / "stale_tokenizer");
  write_bytes(dir.path / "stale_tokenizer" / "vocab.json", "{}");

  const std::string zoo = fmt::format("'{}' --threads 1", HEED_ATTENTION_ZOO_EXE);
  write_bytes(dir.path / "bad_digits.csv", "1,2,3\n");
  const std::string translate = bahdanau + " translate --checkpoint bahdanau.safetensors go";
  const std::string sample = gpt + " sample 12 --checkpoint gpt.safetensors";
  const std::vector<Case> table = {
      // Heap overflow, SIGFPE, out-of-bounds read
      {"overflow",
       bahdanau + " train --batch-size 9223372036854775807",
       {"--batch-size", "[1, 65536]", "9223372036854775807"}},
      {"overflow", gpt + " train --n-head 0", {"--n-head", "[1, 256]", "got 0"}},
      {"overflow",
       gpt + " sample 1 --checkpoint zero_heads.safetensors",
       {"n_head must be in [1, 256], got 0"}},
      {"overflow", translate + " --beam 9223372036854775807", {"--beam", "[1, 1000]"}},
      // Stack overflow from a 200 KB header
      {"checkpoint",
       gpt + " sample 1 --checkpoint deep_dtype.safetensors",
       {"nests deeper than 128"}},
      {"checkpoint",
       gpt + " sample 1 --checkpoint deep_shape.safetensors",
       {"nests deeper than 128"}},
      {"checkpoint",
       bahdanau + " translate go --checkpoint deep_dtype.safetensors",
       {"nests deeper than 128"}},
      // Hangs
      {"hang", gpt + " train --data fifo", {"fifo", "not a regular file"}},
      {"hang", bahdanau + " train --data fifo", {"fifo", "not a regular file"}},
      {"hang", gpt + " train --n-layer 1e12", {"--n-layer", "[1, 256]", "1e12"}},
      {"hang", gpt + " train --batch-size 1e12", {"--batch-size", "[1, 65536]"}},
      {"hang", gpt + " train --eval-batches 1e12", {"--eval-batches", "[1, 100000]"}},
      {"hang", bahdanau + " train --date-pairs 1e12", {"--date-pairs", "[1, 10000000]"}},
      {"hang", bahdanau + " train --num-layers 1e12", {"--num-layers", "[1, 16]"}},
      {"hang", translate + " --beam 1e12", {"--beam", "[1, 1000]"}},
      {"hang",
       gpt + " sample 1 --checkpoint huge_layers.safetensors",
       {"n_layer must be in [1, 256], got 1000000000000"}},
      {"hang",
       bahdanau + " translate go --checkpoint huge_rnn.safetensors",
       {"num_layers must be in [1, 16], got 1000000000000"}},
      // Abort
      {"abort", gpt + " train --n-layer 100000", {"--n-layer", "[1, 256]", "100000"}},
      {"abort", gpt + " train --batch-size 1e8", {"--batch-size", "[1, 65536]"}},
      // Undefined behaviour
      {"undefined",
       gpt + " train --resume --checkpoint step_1e300.safetensors",
       {"'state.3.step' is 1e+300", "whole number in [0, 2^53]"}},
      {"undefined",
       gpt + " sample 1 --checkpoint gpt.safetensors --max-new-tokens 9223372036854775807",
       {"--max-new-tokens", "[0, 65536]"}},
      // Silent nonsense
      {"nonsense",
       gpt + " train --lr 1e6 --steps 300 --checkpoint diverged.safetensors",
       {"training diverged at step", "no checkpoint was written"}},
      {"nonsense", sample + " --temperature nan", {"--temperature", "nan"}},
      {"nonsense", sample + " --max-new-tokens -1", {"--max-new-tokens", "[0, 65536]", "-1"}},
      {"nonsense", gpt + " train --min-lr-factor -1", {"--min-lr-factor", "[0, 1]", "-1"}},
      {"nonsense", gpt + " train --min-lr-factor nan", {"--min-lr-factor", "nan"}},
      {"nonsense", gpt + " train --grad-clip nan", {"--grad-clip", "nan"}},
      {"nonsense", sample + " --top-p nan", {"--top-p", "(0, 1]", "nan"}},
      {"nonsense", translate + " --alpha nan", {"--alpha", "[0, 10]", "nan"}},
      {"nonsense", bahdanau + " train --val-fraction 0.1", {"--val-fraction applies to --data"}},
      {"nonsense",
       gpt + " train --resume --checkpoint renamed_adam.safetensors",
       {fmt::format("parameter {} has 2 of its 3 entries", renamed),
        fmt::format("'state.{}.exp_avg_sq' is missing", renamed)}},
      {"nonsense",
       gpt + " sample 1 --checkpoint overlap.safetensors",
       {"starts at data byte 0, expected 4"}},
      {"nonsense", gpt + " sample 1 --checkpoint duplicate.safetensors", {"the key 'a' twice"}},
      {"nonsense",
       gpt + " sample 1 --checkpoint other_format.safetensors",
       {"heed.format is 'heed-checkpoint-7'"}},
      {"nonsense",
       gpt + " sample 1 --checkpoint short_vocabulary.safetensors",
       {"the vocabulary has 3 characters but the model's vocab_size is 10"}},
      {"nonsense",
       gpt + " sample 1 --checkpoint flipped.safetensors",
       {"does not match its checksum"}},
      {"nonsense",
       gpt + " train --data overlong.txt",
       {"overlong.txt", "not valid UTF-8 at byte 3", "overlong"}},
      {"nonsense",
       gpt + " train --data surrogate.txt",
       {"surrogate.txt", "not valid UTF-8 at byte 3", "surrogate"}},
      {"nonsense",
       bahdanau + " train --data bad_utf8.tsv --strict",
       {"bad_utf8.tsv: line 2", "not valid UTF-8 at byte 0"}},
      // Late or raw errors
      {"late",
       gpt + " train --checkpoint no/such/dir/x.safetensors",
       {"--checkpoint", "does not exist"}},
      {"late", gpt + " train --plot-loss no/such/dir/x.png", {"--plot-loss", "does not exist"}},
      {"late",
       sample + " --attention-map no/such/dir/x.png",
       {"--attention-map", "does not exist"}},
      {"late", bahdanau + " train --plot-loss a_directory", {"--plot-loss", "is a directory"}},
      {"late", translate + " --heatmap no/such/dir/x.png", {"--heatmap", "does not exist"}},
      {"late",
       gpt + " train --resume --checkpoint step_text.safetensors",
       {"step must be a whole number, got 'two'"}},
      {"late",
       gpt + " train --resume --checkpoint batch_zero.safetensors",
       {"batch_size must be in [1, 65536], got 0"}},
      {"nonsense", gpt + " train --bucket-mb 0", {"--bucket-mb", "(0, 1024]", "0"}},
      {"nonsense", gpt + " train --bucket-mb nan", {"--bucket-mb", "nan"}},
      {"late", gpt + " train --metrics no/such/dir/m.jsonl", {"--metrics", "does not exist"}},
      {"late", bahdanau + " train --metrics a_directory", {"--metrics", "is a directory"}},
      {"late", gpt + " sample 1 --checkpoint no_config.safetensors", {"no 'config' entry"}},
      {"late",
       gpt + " sample 1 --checkpoint vocabulary_object.safetensors",
       {"must be a non-empty list of characters"}},
      {"late", gpt + " train --data a_directory", {"a_directory is a directory"}},
      {"late", gpt + " sample 1 --checkpoint a_directory", {"a_directory is a directory"}},
      // Found by the independent audit after the first round of fixes
      {"audit", sample + " --attention-map fifo", {"--attention-map fifo", "not a regular file"}},
      {"audit", translate + " --heatmap fifo", {"--heatmap fifo", "not a regular file"}},
      {"audit",
       gpt + " train --checkpoint /dev/null",
       {"--checkpoint /dev/null", "not a regular file"}},
      {"audit",
       bahdanau + " eval --checkpoint bahdanau.safetensors --json fifo",
       {"--json fifo", "not a regular file"}},
      {"audit",
       gpt + " sample 1 --checkpoint config_not_json.safetensors",
       {"the model config is not valid JSON (a syntax error at byte"}},
      {"audit",
       bahdanau + " translate go --checkpoint repeated_token.safetensors",
       {"source_vocab", "repeats"}},
      {"audit",
       "printf '1\\0002\\n' | " + gpt + " sample --checkpoint gpt.safetensors",
       {"the character '\\x00'", "not in the model's vocabulary"}},
      {"audit",
       gpt + " train --block-size 1",
       {"--block-size 1 is too short for the addition task, which needs 7"}},
      {"audit", gpt + " train --seed -1", {"--seed", "[0, 9223372036854775807]", "-1"}},
      {"audit", sample + " --attention-map /proc/x.png", {"/proc/x.png"}},
      {"audit",
       bahdanau + " eval --checkpoint negative_seed.safetensors",
       {"training settings: seed must be in [0, 9223372036854775807], got -1"}},
      // GPT-2 folders from elsewhere
      {"pretrained", pretrained + "no_such_folder x", {"--pretrained", "no_such_folder"}},
      {"pretrained", pretrained + "only_bin x", {"pytorch_model.bin", "safetensors only"}},
      {"pretrained", pretrained + "bad_vocab x", {"vocab.json", "expected an object"}},
      {"pretrained", pretrained + "relu x", {"activation_function", "relu"}},
      {"pretrained", pretrained + "escaping x", {"not a plain file name in the folder"}},
      {"pretrained",
       pretrained + "'" + gpt2.string() + "' --max-new-tokens 500 x",
       {"exceeds the block size 128"}},
      {"pretrained",
       gpt + " eval --pretrained '" + gpt2.string() + "' --data no_such.txt",
       {"no_such.txt"}},
      {"pretrained",
       gpt + " eval --pretrained '" + gpt2.string() + "' --data fifo",
       {"fifo", "not a regular file"}},
      {"pretrained",
       pretrained + "'" + gpt2.string() + "' --json /proc/out.json x",
       {"--json", "/proc/out.json"}},
      {"pretrained",
       gpt + " eval --pretrained '" + gpt2.string() + "' --data overlong.txt --json a_directory",
       {"--json", "a_directory"}},
      {"pretrained",
       gpt + " eval --pretrained '" + gpt2.string() + "' --data overlong.txt --stride 0",
       {"--stride", "[1, 65536]"}},
      // Fine-tuning a GPT-2 folder, and exporting to one
      {"pretrained",
       init_from + " --data sentences.txt --n-layer 3",
       {"--init-from excludes --n-layer"}},
      {"pretrained",
       init_from + " --data sentences.txt --preset small",
       {"--init-from excludes --preset"}},
      {"pretrained", init_from, {"--init-from requires --data"}},
      {"pretrained",
       init_from + " --data sentences.txt --block-size 500",
       {"--block-size 500", "128 positions"}},
      {"pretrained", init_from + " --data overlong.txt", {"overlong.txt", "not valid UTF-8"}},
      {"pretrained",
       gpt + " export --checkpoint no_such.safetensors --hf out",
       {"no_such.safetensors"}},
      {"pretrained", gpt + " export --checkpoint gpt.safetensors", {"--hf is required"}},
      {"pretrained",
       gpt + " export --checkpoint gpt.safetensors --hf stale_tokenizer",
       {"vocab.json", "as this model's tokenizer"}},
      {"pretrained",
       gpt + " export --checkpoint gpt.safetensors --hf fifo",
       {"--hf", "fifo", "not a directory"}},
      // The attention zoo: flags, the digits file, the words file
      {"flags", zoo + " classify --epochs -1", {"--epochs", "[0, 100000]", "-1"}},
      {"flags", zoo + " detect --lr 0", {"--lr", "(0, 10]"}},
      {"flags", zoo + " gan --sample-every x", {"--sample-every", "'x'"}},
      {"flags", zoo + " ner --hidden 0", {"--hidden", "[1, 4096]"}},
      {"flags", zoo + " paint", {"subcommand"}},
      {"flags", zoo + " seq2seq --seed -1", {"--seed", "-1"}},
      {"data", zoo + " classify --data missing.csv.gz", {"digits", "missing.csv.gz", "--data"}},
      {"data", zoo + " classify --data bad_digits.csv", {"digits", "line 1", "expected 65"}},
      {"data", zoo + " gan --data bad_digits.csv", {"digits", "line 1", "expected 65"}},
      {"data", zoo + " summarize --words bad_digits.csv", {"summarize", "usable English"}},
      {"checkpoint",
       zoo + " gan --classifier gpt.safetensors --epochs 1",
       {"--classifier", "gpt.safetensors", "classify --checkpoint"}},
      {"output", zoo + " classify --epochs 1 --checkpoint no_dir/x.safetensors", {"no_dir"}},
  };

  std::map<std::string, std::pair<int, int>> tally;  // category -> (tried, passed)
  for (const Case& c : table) {
    const Run r = run(dir.path, c.command);
    bool ok = r.status == 2 && r.stderr_lines.size() == 1;
    for (const std::string& fragment : c.fragments) {
      ok = ok && !r.stderr_lines.empty() && r.stderr_lines[0].find(fragment) != std::string::npos;
    }
    CHECK_MESSAGE(ok,
                  c.command << "\n  status " << r.status << ", stderr (" << r.stderr_lines.size()
                            << " lines): " << (r.stderr_lines.empty() ? "" : r.stderr_lines[0]));
    auto& [tried, passed] = tally[c.category];
    ++tried, passed += ok;
  }
  for (const auto& [category, counts] : tally) {
    MESSAGE(fmt::format("bad input, {}: {} of {} cases exit 2 with one clear line", category,
                        counts.second, counts.first));
  }
  // A checkpoint path another run is training into is refused at the start.
  const fs::path pid_file = dir.path / "busy.pid";
  REQUIRE(std::system(fmt::format("cd '{}' && ({} train --steps 1000000 --checkpoint "
                                  "busy.safetensors > /dev/null 2>&1 & echo $! > '{}')",
                                  dir.path.string(), gpt, pid_file.string())
                          .c_str()) == 0);
  for (int i = 0; i < 100 && !fs::exists(dir.path / "busy.safetensors.lock"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const Run second = run(dir.path, gpt + " train --checkpoint busy.safetensors");
  ::kill(std::stoi(read_bytes(pid_file)), SIGKILL);
  CHECK(second.status == 2);
  REQUIRE(second.stderr_lines.size() == 1);
  CHECK(second.stderr_lines[0].find("is locked by process") != std::string::npos);
  CHECK(second.stderr_lines[0].find("another run is writing busy.safetensors") !=
        std::string::npos);
}

TEST_CASE("scripts: translate keeps lines, global options go anywhere, eval writes JSON") {
  TemporaryDirectory dir;
  const std::string bahdanau = fmt::format("'{}'", HEED_BAHDANAU_EXE);
  // --threads after the subcommand, and "1 thread" in the singular.
  const Run trained = run(dir.path, bahdanau +
                                        " train --threads 1 --epochs 1 --date-pairs 200 "
                                        "--date-held-out 10 --no-final-eval");
  REQUIRE(trained.status == 0);
  // The default checkpoint goes under runs/, made for it (git ignores the folder).
  CHECK(fs::is_regular_file(dir.path / "runs" / "bahdanau.safetensors"));
  CHECK(trained.stdout_text.find("; 1 thread;") != std::string::npos);
  CHECK(trained.stdout_text.find("training pairs (nothing was held out)") == std::string::npos);
  CHECK(trained.stdout_text.find("held-out pairs:") == std::string::npos);  // no final eval
  // One output line per input line, blank in and blank out, and nothing but translations with
  // --output-only; --tsv reads the first column.
  write_bytes(dir.path / "in.txt", "21 november 2026\n\n3 mar 1999\n");
  const std::string command =
      fmt::format("cd '{}' && {} translate --output-only < in.txt > out.txt 2> err.txt",
                  dir.path.string(), bahdanau);
  REQUIRE(std::system(command.c_str()) == 0);
  const std::string out = read_bytes(dir.path / "out.txt");
  CHECK(std::count(out.begin(), out.end(), '\n') == 3);
  CHECK(out.find("\n\n") != std::string::npos);  // the blank line stayed blank
  CHECK(out.find("=>") == std::string::npos);
  write_bytes(dir.path / "in.tsv", "21 november 2026\t2026-11-21\n");
  REQUIRE(std::system(fmt::format("cd '{}' && {} translate --tsv < in.tsv > out.tsv 2> err.txt",
                                  dir.path.string(), bahdanau)
                          .c_str()) == 0);
  CHECK(read_bytes(dir.path / "out.tsv").rfind("21 november 2026\t", 0) == 0);
  // eval --json: the corpus scores and every pair's.
  const Run evaluated = run(dir.path, bahdanau + " eval --json scores.json --show 0");
  REQUIRE(evaluated.status == 0);
  const nlohmann::json scores = nlohmann::json::parse(read_bytes(dir.path / "scores.json"));
  CHECK(scores.at("count") == 10);
  CHECK(scores.at("pairs").size() == 10);
  CHECK(scores.at("pairs")[0].contains("bleu2"));
  CHECK(scores.at("corpus_bleu4").is_number());
}
