// Hostile files: every rule the safetensors reader enforces (those of the reference
// implementation, plus heed's checksum), the locks that keep two writers apart, and the
// reproducers of the hostile-input audit. Each bad file must be one heed::Error with a bounded
// message, never a crash, a hang or a silent load.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/io/crc32c.hpp"
#include "engine/io/file_lock.hpp"
#include "nn/nn.hpp"
#include "tests/helpers.hpp"

using namespace heed;
using namespace heed::testing;
namespace fs = std::filesystem;

namespace {

// A safetensors file made by hand: the length, the header text as given, then the data bytes.
std::string safetensors_bytes(const std::string& header, const std::string& data) {
  std::string bytes(8, '\0');
  const uint64_t length = header.size();
  std::memcpy(bytes.data(), &length, 8);
  return bytes + header + data;
}

void check_parse_error(const std::string& header, const std::string& data,
                       const std::vector<std::string>& fragments) {
  check_error([&] { parse_safetensors(safetensors_bytes(header, data), "test.safetensors"); },
              fragments);
}

}  // namespace

TEST_CASE("the safetensors reader follows the reference implementation's rules") {
  const std::string eight(8, '\0');
  // A valid file made by hand loads, and these variations of it do not.
  const auto file = parse_safetensors(
      safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                        R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                        eight),
      "ok");
  CHECK(file.tensors.size() == 2);
  // Overlapping, gapped and unordered-but-tiling offsets.
  check_parse_error(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                    R"("b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                    eight, {"starts at data byte 0, expected 4", "without gaps or overlaps"});
  check_parse_error(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", eight,
                    {"'a'", "starts at data byte 4, expected 0"});
  check_parse_error(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", eight,
                    {"cover 4 bytes of data, but the file has 8"});
  CHECK(parse_safetensors(
            safetensors_bytes(R"({"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},)"
                              R"("a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                              eight),
            "x")
            .tensors.size() == 2);
  // Duplicate keys, at the top and inside an entry (nlohmann::json alone keeps the last).
  check_parse_error(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                    R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                    eight, {"the key 'a' twice"});
  check_parse_error(R"({"a":{"dtype":"F32","dtype":"F64","shape":[1],"data_offsets":[0,4]}})",
                    eight, {"the key 'dtype' twice"});
  // Non-canonical dtypes and sizes.
  check_parse_error(R"({"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}})", eight,
                    {"unsupported dtype 'f32'"});
  check_parse_error(R"({"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}})", eight,
                    {"invalid size 1.0 (not a whole number)"});
  check_parse_error(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}})", eight,
                    {"exactly dtype, shape and data_offsets"});
  check_parse_error(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],)"
                    R"("data_offsets":[0,4]}})",
                    eight, {"'a'", "too many"});
  check_parse_error(R"([1, 2])", eight, {"does not start with '{'"});
  check_parse_error(R"({"__metadata__":{"k":1}})", "", {"metadata 'k'", "expected a string"});
}

TEST_CASE("a header nested 100,000 deep is refused without recursion, and messages stay short") {
  // The audit's reproducer: a dtype that is an array nested 100,000 deep (a stack overflow when
  // the error message serialised it).
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  check_parse_error(R"({"a":{"dtype":)" + deep + R"(,"shape":[1],"data_offsets":[0,4]}})",
                    std::string(4, '\0'), {"nests deeper than 128 levels"});
  check_parse_error(R"({"a":{"dtype":"F32","shape":[)" + deep + R"(],"data_offsets":[0,4]}})",
                    std::string(4, '\0'), {"nests deeper than 128 levels"});
  // 127 levels in all (the header, the entry, 125 arrays) are within the limit: the entry is then
  // refused for its dtype, not for its depth.
  const std::string ok_depth = std::string(125, '[') + std::string(125, ']');
  check_parse_error(R"({"a":{"dtype":)" + ok_depth + R"(,"shape":[1],"data_offsets":[0,4]}})",
                    std::string(4, '\0'), {"unsupported dtype a JSON array"});
  // A megabyte-long dtype string or tensor name is quoted in a few dozen characters.
  const std::string long_text(1 << 20, 'x');
  try {
    parse_safetensors(
        safetensors_bytes(
            R"({")" + long_text + R"(":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", "x"),
        "long");
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).size() < 400);
    CHECK(std::string(e.what()).find("(1048576 bytes)") != std::string::npos);
  }
}

TEST_CASE("a flipped data bit fails the checksum; files without one still load") {
  TemporaryDirectory dir;
  const fs::path path = dir.path / "w.safetensors";
  save_safetensors(path, {{"w", randn({16, 16})}});
  std::string bytes = read_bytes(path);
  CHECK(bytes.find("heed.data_crc32c") != std::string::npos);
  CHECK(load_safetensors(path).metadata.empty());  // the checksum is the reader's, not the caller's
  bytes[bytes.size() - 3] = static_cast<char>(bytes[bytes.size() - 3] ^ 0x10);
  write_bytes(path, bytes);
  check_error([&] { load_safetensors(path); }, {"does not match its checksum", "corrupted"});
  // The same tensor without the metadata entry (as PyTorch's safetensors writes it) loads.
  const auto plain = parse_safetensors(
      safetensors_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                        std::string(4, '\0')),
      "plain");
  CHECK(plain.tensors.at("w").item() == 0.0);
  // CRC-32C's standard check value.
  CHECK(crc32c("123456789", 9) == 0xE3069283u);
  CHECK(crc32c("56789", 5, crc32c("1234", 4)) == 0xE3069283u);
}

TEST_CASE("a file read from its header alone, then one tensor at a time, as load_safetensors") {
  TemporaryDirectory dir;
  const fs::path path = dir.path / "w.safetensors";
  const Tensor a = randn({3, 4}), b = arange(5.0).to(kFloat64);
  save_safetensors(path, {{"b", b}, {"a", a}}, {{"note", "kept"}});
  const SafetensorsHeader header = read_safetensors_header(path);
  CHECK(header.tensors.size() == 2);
  CHECK(header.tensors.at("a").shape == Shape{3, 4});
  CHECK(header.tensors.at("b").dtype == kFloat64);
  CHECK(header.metadata == std::map<std::string, std::string>{{"note", "kept"}});
  std::vector<std::string> order;
  for_each_safetensor(path, [&](const std::string& name, const Tensor& tensor) {
    order.push_back(name);
    check_close(tensor, name == "a" ? a : b, 0, 0);
  });
  CHECK(order == std::vector<std::string>{"a", "b"});  // file order (sorted names when saved)
  // A flipped bit is found after the last tensor was handed over: the caller must drop them.
  std::string bytes = read_bytes(path);
  bytes[bytes.size() - 3] = static_cast<char>(bytes[bytes.size() - 3] ^ 0x10);
  write_bytes(path, bytes);
  int taken = 0;
  check_error(
      [&] { for_each_safetensor(path, [&](const std::string&, const Tensor&) { ++taken; }); },
      {"does not match its checksum"});
  CHECK(taken == 2);
  // A broken header fails before any data is read.
  write_bytes(path, bytes.substr(0, 20));
  check_error([&] { read_safetensors_header(path); }, {"truncated"});
  check_error(
      [&] { for_each_safetensor(path, [&](const std::string&, const Tensor&) { ++taken; }); },
      {"truncated"});
  CHECK(taken == 2);
}

TEST_CASE("paths that are not regular files are named as such") {
  TemporaryDirectory dir;
  check_error([&] { load_safetensors(dir.path); }, {"is a directory"});
  const fs::path fifo = dir.path / "pipe";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  check_error([&] { load_safetensors(fifo); }, {"not a regular file"});  // and does not hang
}

TEST_CASE("saves reuse one temporary name and refuse a second writer") {
  TemporaryDirectory dir;
  const fs::path path = dir.path / "c.safetensors";
  // A save killed mid-write leaves path.tmp behind; the next save overwrites and renames it.
  write_bytes(temporary_path_for(path), std::string(1 << 20, 'x'));
  save_safetensors(path, {{"w", ones({2})}});
  CHECK(!fs::exists(temporary_path_for(path)));
  CHECK(load_safetensors(path).tensors.at("w").sum().item() == 2.0);
  // While another process holds the temporary file's lock, a save is refused and the file kept.
  const int other = ::open(temporary_path_for(path).c_str(), O_RDWR | O_CREAT, 0644);
  REQUIRE(::flock(other, LOCK_EX | LOCK_NB) == 0);
  check_error(
      [&] {
        save_safetensors(path, {{"w", zeros({2})}});
      },
      {"save_safetensors", "is locked", "another process is saving"});
  ::close(other);
  CHECK(load_safetensors(path).tensors.at("w").sum().item() == 2.0);
  // A training run's lock on its checkpoint: a second one is refused, and it goes away after.
  {
    FileLock first(path);
    CHECK(fs::exists(dir.path / "c.safetensors.lock"));
    check_error([&] { FileLock second(path); }, {"is locked by process", "another run is writing"});
  }
  CHECK(!fs::exists(dir.path / "c.safetensors.lock"));
  FileLock again(path);
}

TEST_CASE("optimizer state is validated entry by entry before it is loaded") {
  nn::Linear model(3, 2);
  nn::Adam adam({{model.parameters(), 0.01}});
  model.forward(ones({1, 3})).sum().backward();
  adam.step();
  const nn::StateDict good = adam.state_dict();
  auto load_with = [&](const std::function<void(nn::StateDict&)>& change) {
    nn::StateDict state = good;
    change(state);
    nn::Adam fresh({{model.parameters(), 0.01}});
    fresh.load_state_dict(state);
  };
  load_with([](nn::StateDict&) {});  // the unchanged state loads
  // The audit's reproducer: an entry renamed to another parameter's index.
  check_error(
      [&] {
        load_with([](nn::StateDict& s) {
          s.erase("state.1.step");
          s["state.1.step"] = s.at("state.0.step");
          s.erase("state.0.step");
        });
      },
      {"parameter 0 has 2 of its 3 entries", "'state.0.step' is missing"});
  check_error(
      [&] { load_with([](nn::StateDict& s) { s["state.00.step"] = s.at("state.0.step"); }); },
      {"unexpected entry 'state.00.step'"});
  check_error([&] { load_with([](nn::StateDict& s) {
                      s["state.0.momentum"] = ones({2, 3});
                    }); },
              {"unexpected entry 'state.0.momentum'", "step, exp_avg, exp_avg_sq"});
  check_error(
      [&] {
        load_with([](nn::StateDict& s) { s["state.0.step"] = scalar_tensor(1e300, {kFloat64}); });
      },
      {"'state.0.step' is 1e+300", "whole number in [0, 2^53]"});
  check_error([&] { load_with([](nn::StateDict& s) { s["state.0.step"] = scalar_tensor(1.5); }); },
              {"'state.0.step' is 1.5"});
  check_error([&] { load_with([](nn::StateDict& s) { s["state.0.step"] = scalar_tensor(-1); }); },
              {"'state.0.step' is -1"});
  check_error(
      [&] { load_with([](nn::StateDict& s) {
              s["state.0.exp_avg"] = full({2, 3}, NAN);
            }); },
      {"'state.0.exp_avg' holds NaN or inf"});
  check_error(
      [&] { load_with([](nn::StateDict& s) { s["state.1.exp_avg_sq"] = full({2}, INFINITY); }); },
      {"'state.1.exp_avg_sq' holds NaN or inf"});
  check_error([&] { load_with([](nn::StateDict& s) { s["group.0.lr"] = scalar_tensor(NAN); }); },
              {"'group.0.lr' is nan"});
  check_error([&] { load_with([](nn::StateDict& s) { s.erase("group.0.lr"); }); },
              {"missing 'group.0.lr'"});
  // A parameter the optimizer never stepped has no entries at all, and that is fine.
  load_with([](nn::StateDict& s) {
    for (const char* name : {"step", "exp_avg", "exp_avg_sq"})
      s.erase(fmt::format("state.1.{}", name));
  });
}

TEST_CASE("a checkpoint of another format version, or with a bad generator state, is refused") {
  TemporaryDirectory dir;
  const fs::path path = dir.path / "c.safetensors";
  nn::Linear model(2, 2);
  save_safetensors(path, model.state_dict(), {{"heed.format", "heed-checkpoint-99"}});
  check_error([&] { nn::load_checkpoint(path, model); },
              {"heed.format is 'heed-checkpoint-99'", "reads 'heed-checkpoint-1'"});
  check_error([&] { nn::read_checkpoint_metadata(path); }, {"heed-checkpoint-99"});
  save_safetensors(path, model.state_dict(), {{"heed.generator_state", "1 2 -3 4"}});
  const Tensor before = model.parameters()[0].clone();
  check_error([&] { nn::load_checkpoint(path, model); }, {"four unsigned 64-bit words"});
  save_safetensors(path, model.state_dict(), {{"heed.generator_state", std::string(1 << 20, '7')}});
  try {
    nn::load_checkpoint(path, model);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).size() < 300);
  }
  check_close(model.parameters()[0], before, 0, 0);
  // Weights saved by another tool (no heed.format at all) load.
  save_safetensors(path, model.state_dict());
  nn::load_checkpoint(path, model);
}

TEST_CASE("safetensors F16 and BF16 tensors are read as float32, value for value") {
  // 1, -2, the smallest subnormal 2^-24, 65504 (the largest half), inf; and 1, -3 in bfloat16.
  const std::vector<uint16_t> halves = {0x3C00, 0xC000, 0x0001, 0x7BFF, 0x7C00};
  const std::vector<uint16_t> brains = {0x3F80, 0xC040};
  const std::string header = R"({"h":{"dtype":"F16","shape":[5],"data_offsets":[0,10]},)"
                             R"("b":{"dtype":"BF16","shape":[2],"data_offsets":[10,14]}})";
  std::string bytes(8, '\0');
  const uint64_t length = header.size();
  std::memcpy(bytes.data(), &length, 8);
  bytes += header;
  for (const auto* values : {&halves, &brains}) {
    bytes.append(reinterpret_cast<const char*>(values->data()), values->size() * 2);
  }
  const SafetensorsFile file = parse_safetensors(bytes, "test");
  const Tensor h = file.tensors.at("h"), b = file.tensors.at("b");
  CHECK(h.dtype() == kFloat32);
  const std::vector<float> hv = h.to_vector<float>();
  CHECK(hv[0] == 1.0f);
  CHECK(hv[1] == -2.0f);
  CHECK(hv[2] == std::ldexp(1.0f, -24));
  CHECK(hv[3] == 65504.0f);
  CHECK(std::isinf(hv[4]));
  CHECK(b.to_vector<float>() == std::vector<float>{1.0f, -3.0f});
  // A half tensor's byte count is two per element: four bytes for five elements is refused.
  const std::string bad = R"({"h":{"dtype":"F16","shape":[5],"data_offsets":[0,4]}})";
  check_error(
      [&] {
        std::string file_bytes(8, '\0');
        const uint64_t n = bad.size();
        std::memcpy(file_bytes.data(), &n, 8);
        parse_safetensors(file_bytes + bad + std::string(4, '\0'), "test");
      },
      {"needs 10 bytes"});
  // Other dtypes are still named.
  const std::string int8 = R"({"q":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}})";
  std::string int8_bytes(8, '\0');
  const uint64_t n8 = int8.size();
  std::memcpy(int8_bytes.data(), &n8, 8);
  check_error([&] { parse_safetensors(int8_bytes + int8 + std::string(1, '\0'), "test"); },
              {"unsupported dtype", "I8", "F16 and BF16"});
}
