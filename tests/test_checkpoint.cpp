// safetensors files and training checkpoints: round trips, atomic replacement, every kind of
// broken file, and a resumed run that reproduces the uninterrupted one exactly.
#include <random>

#include "nn/nn.hpp"
#include "tests/helpers.hpp"

using namespace heed;
using namespace heed::testing;
namespace fs = std::filesystem;

TEST_CASE("safetensors round-trips every dtype, strided views and metadata") {
  TemporaryDirectory dir;
  const fs::path file = dir.path / "t.safetensors";
  const Tensor matrix = arange(0.0, 12.0, 1.0, {kFloat32}).reshape({3, 4});
  std::map<std::string, Tensor> tensors{
      {"f32", matrix.t()},  // a transposed view: saved in row-major order of its shape
      {"f64", tensor({1.5, -2.25}, {kFloat64})},
      {"i64", int_tensor({7, -8, 9})},
      {"flag", gt(int_tensor({1, 0}), int_tensor({0, 0}))},
      {"scalar", scalar_tensor(3.0)}};
  save_safetensors(file, tensors, {{"step", "42"}, {"config", "{\"layers\": 2}"}});
  const SafetensorsFile loaded = load_safetensors(file);
  CHECK(loaded.metadata.at("step") == "42");
  CHECK(loaded.metadata.at("config") == "{\"layers\": 2}");
  REQUIRE(loaded.tensors.size() == tensors.size());
  for (const auto& [name, original] : tensors) {
    const std::string& tensor_name = name;  // INFO captures a variable, not a binding (clang 14)
    INFO(tensor_name);
    const Tensor& back = loaded.tensors.at(name);
    CHECK(back.dtype() == original.dtype());
    check_close(back.to(kFloat64), original.to(kFloat64), 0, 0);
  }
  // The header length is little-endian and the data starts 8-byte aligned.
  const std::string bytes = read_bytes(file);
  uint64_t header_length = 0;
  std::memcpy(&header_length, bytes.data(), 8);
  CHECK(header_length % 8 == 0);
}

TEST_CASE("an interrupted save leaves the previous file in place") {
  TemporaryDirectory dir;
  const fs::path file = dir.path / "model.safetensors";
  save_safetensors(file, {{"w", ones({2})}});
  const std::string good = read_bytes(file);
  check_error(
      [&] {
        save_safetensors(file, {{"w", ones({2})}, {"broken", Tensor()}});
      },
      {"save_safetensors", "'broken'", "undefined"});
  CHECK(read_bytes(file) == good);
  int entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir.path)) ++entries;
  CHECK(entries == 1);  // no temporary file left behind
  check_error(
      [&] {
        save_safetensors(dir.path / "no-such-dir" / "x.safetensors", {{"w", ones({1})}});
      },
      {"save_safetensors", "cannot create"});
}

TEST_CASE("missing, empty, truncated, foreign and corrupted files are clear errors") {
  TemporaryDirectory dir;
  const fs::path file = dir.path / "model.safetensors";
  check_error([&] { load_safetensors(dir.path / "absent.safetensors"); },
              {"no such file", "absent"});
  write_bytes(file, "");
  check_error([&] { load_safetensors(file); }, {"0 bytes", "too short"});
  write_bytes(file, "this is a text file, not a checkpoint\n");
  check_error([&] { load_safetensors(file); }, {"not a safetensors file or is truncated"});

  save_safetensors(file, {{"a", randn({4, 5})}, {"b", int_tensor({1, 2, 3})}}, {{"k", "v"}});
  const std::string good = read_bytes(file);
  // Every truncation is an error, never a crash or a silent partial load.
  for (size_t keep = 0; keep < good.size(); keep += 7) {
    write_bytes(file, good.substr(0, keep));
    CHECK_THROWS_AS(load_safetensors(file), Error);
  }
  // Flipping any single bit either still parses to a valid file or is a heed::Error.
  std::mt19937 random(5);
  for (int trial = 0; trial < 400; ++trial) {
    std::string bytes = good;
    const size_t position = random() % bytes.size();
    bytes[position] = static_cast<char>(bytes[position] ^ (1 << (random() % 8)));
    write_bytes(file, bytes);
    try {
      load_safetensors(file);
    } catch (const Error&) {
    }
  }
  // Specific lies in the header.
  auto with_header = [&](const std::string& json) {
    std::string bytes(8, '\0');
    const uint64_t length = json.size();
    std::memcpy(bytes.data(), &length, 8);
    write_bytes(file, bytes + json + std::string(16, '\0'));
  };
  with_header(R"({"w": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]}})");
  check_error([&] { load_safetensors(file); }, {"'w'", "unsupported dtype 'U8'"});
  with_header(R"({"w": {"dtype": "F32", "shape": [100], "data_offsets": [0, 400]}})");
  check_error([&] { load_safetensors(file); }, {"cover 400 bytes", "the file has 16", "truncated"});
  with_header(R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})");
  check_error([&] { load_safetensors(file); }, {"'w'", "needs 12 bytes", "give 8"});
  with_header(R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})");
  check_error([&] { load_safetensors(file); }, {"'w'", "invalid size -1"});
  with_header(R"({"w": [1, 2]})");
  check_error([&] { load_safetensors(file); }, {"'w'", "dtype, shape and data_offsets"});
  with_header("{not json");
  check_error([&] { load_safetensors(file); }, {"not valid JSON"});
}

TEST_CASE("a checkpoint of another architecture is refused, naming the differences") {
  TemporaryDirectory dir;
  const fs::path file = dir.path / "model.safetensors";
  nn::GRU small(4, 6);
  save_checkpoint(file, small);
  nn::GRU wider(4, 8);
  const Tensor before = wider.parameters()[0].clone();
  check_error([&] { nn::load_checkpoint(file, wider); },
              {"load_state_dict into GRU", "weight_ih_l0 (expected (24, 4), found (18, 4))"});
  check_close(wider.parameters()[0], before, 0, 0);  // untouched
  nn::GRU deeper(4, 6, {.num_layers = 2});
  check_error([&] { nn::load_checkpoint(file, deeper); }, {"missing", "weight_ih_l1"});
  nn::SGD optimizer({{small.parameters(), 0.1}});
  check_error([&] { nn::load_checkpoint(file, small, &optimizer); }, {"no optimizer state"});
}

namespace {

// A small sequence model with dropout: its training draws from the default generator, so an
// exact resume needs the weights, the optimizer state and the generator state.
struct ResumeModel : nn::Module {
  ResumeModel() : nn::Module("ResumeModel") {
    embedding = register_module("embedding", std::make_shared<nn::Embedding>(12, 8));
    rnn = register_module(
        "rnn", std::make_shared<nn::GRU>(8, 16, nn::RecurrentOptions{.batch_first = true}));
    dropout = register_module("dropout", std::make_shared<nn::Dropout>(0.2));
    head = register_module("head", std::make_shared<nn::Linear>(16, 12));
  }
  Tensor loss(const Tensor& ids) {
    const Tensor inputs = ids.narrow(1, 0, ids.size(1) - 1),
                 targets = ids.narrow(1, 1, ids.size(1) - 1);
    auto [outputs, h] = rnn->forward(embedding->forward(inputs));
    return nn::cross_entropy(head->forward(dropout->forward(outputs)).reshape({-1, 12}),
                             targets.contiguous().reshape({-1}));
  }
  std::shared_ptr<nn::Embedding> embedding;
  std::shared_ptr<nn::GRU> rnn;
  std::shared_ptr<nn::Dropout> dropout;
  std::shared_ptr<nn::Linear> head;
};

// Trains from `start` to `end` steps, drawing each batch from the default generator; returns
// the losses.
std::vector<double> train_steps(ResumeModel& model, nn::AdamW& optimizer, nn::LRScheduler& schedule,
                                int start, int end) {
  std::vector<double> losses;
  for (int step = start; step < end; ++step) {
    const Tensor ids = randint(0, 12, {4, 9});
    optimizer.zero_grad();
    const Tensor loss = model.loss(ids);
    loss.backward();
    nn::clip_grad_norm(model.parameters(), 1.0);
    optimizer.step();
    schedule.step();
    losses.push_back(loss.item());
  }
  return losses;
}

}  // namespace

TEST_CASE("a run interrupted and resumed from a checkpoint gives the same losses exactly") {
  TemporaryDirectory dir;
  const fs::path file = dir.path / "run.safetensors";
  auto factor = nn::warmup_cosine_lr(3, 12);

  manual_seed(11);
  ResumeModel straight;
  nn::AdamW straight_optimizer(nn::decay_and_no_decay_groups(straight, 0.01, 0.1));
  nn::LRScheduler straight_schedule(straight_optimizer, factor);
  const std::vector<double> expected =
      train_steps(straight, straight_optimizer, straight_schedule, 0, 12);

  manual_seed(11);
  std::vector<double> resumed;
  {
    ResumeModel first;
    nn::AdamW optimizer(nn::decay_and_no_decay_groups(first, 0.01, 0.1));
    nn::LRScheduler schedule(optimizer, factor);
    resumed = train_steps(first, optimizer, schedule, 0, 5);
    nn::save_checkpoint(file, first, &optimizer, {{"step", "5"}});
  }
  manual_seed(999);  // a different process would start from a different state
  ResumeModel second;
  nn::AdamW optimizer(nn::decay_and_no_decay_groups(second, 0.01, 0.1));
  const nn::Metadata metadata = nn::load_checkpoint(file, second, &optimizer);
  const int step = std::stoi(metadata.at("step"));
  // The schedule continues from the saved step, scaling the saved initial lr.
  nn::LRScheduler schedule(optimizer, factor, step);
  const std::vector<double> rest = train_steps(second, optimizer, schedule, step, 12);
  resumed.insert(resumed.end(), rest.begin(), rest.end());

  REQUIRE(resumed.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    INFO("step " << i);
    CHECK(resumed[i] == expected[i]);  // bit for bit
  }
  CHECK(expected.back() < expected.front());  // and it did learn something
}
