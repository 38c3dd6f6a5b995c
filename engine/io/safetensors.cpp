// The safetensors format: a validating reader (every header field, offset and size checked
// before use) and an atomic writer (temporary file, fsync, rename).
#include "engine/io/safetensors.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

#include "engine/error.hpp"

namespace heed {

namespace {

using Json = nlohmann::json;

// The header may not be larger than this: a guard against reading a foreign file's bytes as a
// length and allocating gigabytes for them.
constexpr uint64_t kMaxHeaderBytes = uint64_t{100} << 20;

const char* safetensors_dtype(DType dtype) {
  switch (dtype) {
    case kFloat32:
      return "F32";
    case kFloat64:
      return "F64";
    case kInt64:
      return "I64";
    case kBool:
      return "BOOL";
  }
  return "?";
}

bool dtype_from_safetensors(const std::string& name, DType& dtype) {
  if (name == "F32")
    dtype = kFloat32;
  else if (name == "F64")
    dtype = kFloat64;
  else if (name == "I64")
    dtype = kInt64;
  else if (name == "BOOL")
    dtype = kBool;
  else
    return false;
  return true;
}

size_t bytes_per_element(DType dtype) {
  return dtype == kBool ? 1 : dtype == kFloat32 ? 4 : 8;
}

// Every tensor this file format stores is little-endian; so is every machine heed runs on.
static_assert(std::endian::native == std::endian::little, "heed assumes a little-endian host");

void write_all(int fd, const void* data, size_t bytes, const std::filesystem::path& path) {
  const char* cursor = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t written = ::write(fd, cursor, bytes);
    if (written < 0)
      fail("save_safetensors: writing {} failed: {}", path.string(), std::strerror(errno));
    cursor += written;
    bytes -= static_cast<size_t>(written);
  }
}

}  // namespace

void save_safetensors(const std::filesystem::path& path,
                      const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  // Host copies first, so nothing is written unless every tensor converts.
  std::vector<std::pair<std::string, Tensor>> host;
  Json header = Json::object();
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name.empty() || name == "__metadata__") {
      fail("save_safetensors: invalid tensor name '{}'", name);
    }
    if (!tensor.defined()) fail("save_safetensors: tensor '{}' is undefined", name);
    const Tensor cpu = tensor.detach().to(kCPU).contiguous();
    const uint64_t bytes = static_cast<uint64_t>(cpu.numel()) * bytes_per_element(cpu.dtype());
    header[name] = {{"dtype", safetensors_dtype(cpu.dtype())},
                    {"shape", cpu.shape()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    host.emplace_back(name, cpu);
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');  // data starts 8-byte aligned
  const uint64_t header_length = header_text.size();

  // Write beside the target, make it durable, then swap it in with one rename.
  std::filesystem::path temporary = path;
  temporary += fmt::format(".tmp{}", std::random_device{}());
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    fail("save_safetensors: cannot create {}: {}", temporary.string(), std::strerror(errno));
  }
  try {
    write_all(fd, &header_length, sizeof header_length, path);
    write_all(fd, header_text.data(), header_text.size(), path);
    for (const auto& [name, cpu] : host) {
      write_all(fd, cpu.raw_data(),
                static_cast<size_t>(cpu.numel()) * bytes_per_element(cpu.dtype()), path);
    }
    if (::fsync(fd) != 0) fail("save_safetensors: fsync of {} failed", temporary.string());
  } catch (...) {
    ::close(fd);
    std::filesystem::remove(temporary);
    throw;
  }
  ::close(fd);
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) {
    std::filesystem::remove(temporary);
    fail("save_safetensors: cannot move the new file into place at {}: {}", path.string(),
         error.message());
  }
  // Make the rename itself durable.
  const std::filesystem::path directory = path.has_parent_path() ? path.parent_path() : ".";
  const int directory_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY);
  if (directory_fd >= 0) {
    ::fsync(directory_fd);
    ::close(directory_fd);
  }
}

SafetensorsFile load_safetensors(const std::filesystem::path& path) {
  const std::string where = path.string();
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    fail("load_safetensors: no such file: {}", where);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("load_safetensors: cannot open {}", where);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const uint64_t file_size = bytes.size();
  if (file_size < 8) {
    fail(
        "load_safetensors: {} is {} bytes, too short for a safetensors file (expected at least "
        "the 8-byte header length)",
        where, file_size);
  }
  uint64_t header_length = 0;
  std::memcpy(&header_length, bytes.data(), 8);
  if (header_length > kMaxHeaderBytes || header_length > file_size - 8) {
    fail(
        "load_safetensors: {} is not a safetensors file or is truncated: its header claims {} "
        "bytes but the file has {} after the length",
        where, header_length, file_size - 8);
  }
  Json header;
  try {
    header =
        Json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<int64_t>(header_length));
  } catch (const Json::exception& e) {
    fail("load_safetensors: the header of {} is not valid JSON ({})", where, e.what());
  }
  if (!header.is_object()) fail("load_safetensors: the header of {} is not a JSON object", where);

  const uint64_t data_start = 8 + header_length;
  const uint64_t data_size = file_size - data_start;
  SafetensorsFile file;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) fail("load_safetensors: __metadata__ in {} is not an object", where);
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) {
          fail("load_safetensors: metadata '{}' in {} is not a string", key, where);
        }
        file.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    auto bad = [&](const std::string& what) {
      fail("load_safetensors: tensor '{}' in {}: {}", name, where, what);
    };
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
        !entry.contains("data_offsets")) {
      bad("expected an object with dtype, shape and data_offsets");
    }
    DType dtype = kFloat32;
    if (!entry["dtype"].is_string() ||
        !dtype_from_safetensors(entry["dtype"].get<std::string>(), dtype)) {
      bad(fmt::format("unsupported dtype {} (heed reads F32, F64, I64 and BOOL)",
                      entry["dtype"].dump()));
    }
    Shape shape;
    uint64_t numel = 1;
    if (!entry["shape"].is_array() || entry["shape"].size() > 8)
      bad("shape must be a list of up to 8 sizes");
    for (const auto& size : entry["shape"]) {
      if (!size.is_number_unsigned()) bad(fmt::format("invalid size {} in its shape", size.dump()));
      const uint64_t n = size.get<uint64_t>();
      if (n > (uint64_t{1} << 40) || (n > 0 && numel > (uint64_t{1} << 40) / n))
        bad("shape too large");
      numel *= n;
      shape.push_back(static_cast<int64_t>(n));
    }
    const Json& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned()) {
      bad("data_offsets must be two unsigned integers");
    }
    const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
    const uint64_t expected_bytes = numel * bytes_per_element(dtype);
    if (begin > end || end > data_size) {
      bad(fmt::format("data_offsets [{}, {}] lie outside the {} bytes of data (truncated file?)",
                      begin, end, data_size));
    }
    if (end - begin != expected_bytes) {
      bad(fmt::format("shape {} of {} needs {} bytes, data_offsets give {}", shape_str(shape),
                      entry["dtype"].get<std::string>(), expected_bytes, end - begin));
    }
    Tensor tensor = empty(shape, {dtype});
    std::memcpy(tensor.raw_data(), bytes.data() + data_start + begin, expected_bytes);
    file.tensors.emplace(name, tensor);
  }
  return file;
}

}  // namespace heed
