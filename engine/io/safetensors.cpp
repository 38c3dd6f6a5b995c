// The safetensors format: a validating reader and an atomic, locked, checksummed writer.
//
// Every file is untrusted. The reader checks the whole header before it allocates anything for
// the tensors, with the rules of the reference implementation: a JSON object at most 128 deep
// with no duplicate keys, canonical dtype names, shapes whose byte counts cannot overflow, and
// data_offsets that tile the data section exactly (no gap, no overlap, nothing left over). Error
// messages quote at most a few dozen characters of the file, so no input can make one huge.
#include "engine/io/safetensors.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "engine/checked_size.hpp"
#include "engine/error.hpp"
#include "engine/io/crc32c.hpp"
#include "engine/io/file_lock.hpp"
#include "engine/io/half_precision.hpp"
#include "engine/io/json_reader.hpp"

namespace heed {

namespace {

using Json = nlohmann::json;

// The header may not be larger than this (the reference implementation's limit too): a guard
// against reading a foreign file's bytes as a length and allocating gigabytes for them.
constexpr uint64_t kMaxHeaderBytes = uint64_t{100} << 20;
// heed's own metadata entry: the CRC-32C of the data section, eight hex digits.
constexpr const char* kChecksumKey = "heed.data_crc32c";

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

// Every tensor this file format stores is little-endian; so is every machine heed runs on.
static_assert(std::endian::native == std::endian::little, "heed assumes a little-endian host");

// Parses the header with the limits of parse_untrusted_json, after checking it is an object.
Json parse_header(std::string_view text, const std::string& where) {
  if (text.empty() || text.front() != '{') {
    fail("load_safetensors: the header of {} does not start with '{{' (not a safetensors file?)",
         where);
  }
  return parse_untrusted_json(text, "load_safetensors: the header of " + where);
}

// How a tensor's elements are stored: as its dtype, or as 16-bit floats widened to float32.
enum class Stored { AsDtype, F16, BF16 };

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;
  Stored stored = Stored::AsDtype;
};

// One tensor's entry, checked field by field; data_offsets are checked against the others later.
Entry parse_entry(const std::string& name, const Json& entry, const std::string& where) {
  auto bad = [&](const std::string& what) {
    fail("load_safetensors: tensor {} in {}: {}", printable(name), where, what);
  };
  if (!entry.is_object() || entry.size() != 3 || !entry.contains("dtype") ||
      !entry.contains("shape") || !entry.contains("data_offsets")) {
    bad("expected an object with exactly dtype, shape and data_offsets");
  }
  Entry e{name, kFloat32, {}, 0, 0};
  const Json& dtype = entry["dtype"];
  if (dtype == "F16" || dtype == "BF16") {
    e.stored = dtype == "F16" ? Stored::F16 : Stored::BF16;  // read into float32
  } else if (!dtype.is_string() || !dtype_from_safetensors(dtype.get<std::string>(), e.dtype)) {
    bad(fmt::format(
        "unsupported dtype {} (heed reads F32, F64, I64 and BOOL, and F16 and BF16 as F32)",
        describe_json(dtype)));
  }
  const Json& shape = entry["shape"];
  if (!shape.is_array() || shape.size() > size_t(kMaxDims)) {
    bad(fmt::format(
        "shape must be a list of at most {} sizes, got {}", kMaxDims,
        shape.is_array() ? fmt::format("{} sizes", shape.size()) : describe_json(shape)));
  }
  for (const Json& size : shape) {
    if (!size.is_number_unsigned() || size.get<uint64_t>() > uint64_t(INT64_MAX)) {
      bad(fmt::format("invalid size {} in its shape", describe_json(size)));
    }
    e.shape.push_back(size.get<int64_t>());
  }
  const Json& offsets = entry["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned()) {
    bad("data_offsets must be two unsigned integers");
  }
  e.begin = offsets[0].get<uint64_t>(), e.end = offsets[1].get<uint64_t>();
  int64_t numel = 1;
  size_t bytes = 0;
  for (int64_t size : e.shape) {
    if (!multiply_fits(numel, size, numel)) bad("its shape has too many elements");
  }
  const size_t stored_size = e.stored == Stored::AsDtype ? element_size(e.dtype) : 2;
  if (!bytes_fit(numel, stored_size, bytes)) bad("its shape needs too many bytes");
  if (e.begin > e.end || e.end - e.begin != bytes) {
    bad(fmt::format("shape {} of {} needs {} bytes, data_offsets [{}, {}] give {}",
                    shape_str(e.shape), dtype.get<std::string>(), bytes, e.begin, e.end,
                    e.begin > e.end ? "a negative count" : std::to_string(e.end - e.begin)));
  }
  return e;
}

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

std::filesystem::path temporary_path_for(const std::filesystem::path& path) {
  std::filesystem::path temporary = path;
  temporary += ".tmp";
  return temporary;
}

void save_safetensors(const std::filesystem::path& path,
                      const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  // Host copies first, so nothing is written unless every tensor converts.
  std::vector<std::pair<std::string, Tensor>> host;
  Json header = Json::object();
  uint64_t offset = 0;
  uint32_t checksum = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name.empty() || name == "__metadata__") {
      fail("save_safetensors: invalid tensor name {}", printable(name));
    }
    if (!tensor.defined()) fail("save_safetensors: tensor {} is undefined", printable(name));
    const Tensor cpu = tensor.detach().to(kCPU).contiguous();
    const uint64_t bytes = static_cast<uint64_t>(cpu.numel()) * element_size(cpu.dtype());
    header[name] = {{"dtype", safetensors_dtype(cpu.dtype())},
                    {"shape", cpu.shape()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    checksum = crc32c(cpu.raw_data(), bytes, checksum);
    host.emplace_back(name, cpu);
  }
  Json all_metadata = metadata;
  all_metadata[kChecksumKey] = fmt::format("{:08x}", checksum);
  header["__metadata__"] = all_metadata;
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');  // data starts 8-byte aligned
  const uint64_t header_length = header_text.size();

  // Write beside the target under a fixed name (an interrupted save leaves one stale file, which
  // the next save overwrites), locked so two processes never write it at once; make it
  // durable, then swap it in with one rename.
  const std::filesystem::path temporary = temporary_path_for(path);
  const int fd = open_locked(temporary, "save_safetensors",
                             "another process is saving " + path.string() + " right now");
  try {
    if (::ftruncate(fd, 0) != 0) {
      fail("save_safetensors: cannot truncate {}: {}", temporary.string(), std::strerror(errno));
    }
    write_all(fd, &header_length, sizeof header_length, path);
    write_all(fd, header_text.data(), header_text.size(), path);
    for (const auto& [name, cpu] : host) {
      write_all(fd, cpu.raw_data(), static_cast<size_t>(cpu.numel()) * element_size(cpu.dtype()),
                path);
    }
    if (::fsync(fd) != 0) fail("save_safetensors: fsync of {} failed", temporary.string());
    std::error_code error;
    std::filesystem::rename(temporary, path, error);
    if (error) {
      fail("save_safetensors: cannot move the new file into place at {}: {}", path.string(),
           error.message());
    }
  } catch (...) {
    std::filesystem::remove(temporary);
    ::close(fd);
    throw;
  }
  ::close(fd);  // after the rename: the lock covered the file until it had its final name
  // Make the rename itself durable.
  const std::filesystem::path directory = path.has_parent_path() ? path.parent_path() : ".";
  const int directory_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY);
  if (directory_fd >= 0) {
    ::fsync(directory_fd);
    ::close(directory_fd);
  }
}

namespace {

// Reads the next `size` bytes of the data section into `destination`, in file order.
using ReadNext = std::function<void(void* destination, uint64_t size)>;
using TakeTensor = std::function<void(const std::string& name, const Tensor& tensor)>;

// The 8-byte header length, checked against the file's size.
uint64_t checked_header_length(const char first_eight[8], uint64_t file_size,
                               const std::string& where) {
  if (file_size < 8) {
    fail(
        "load_safetensors: {} is {} bytes, too short for a safetensors file (expected at least "
        "the 8-byte header length)",
        where, file_size);
  }
  uint64_t header_length = 0;
  std::memcpy(&header_length, first_eight, 8);
  if (header_length > kMaxHeaderBytes || header_length > file_size - 8) {
    fail(
        "load_safetensors: {} is not a safetensors file or is truncated: its header claims {} "
        "bytes but the file has {} after the length (and at most {} are allowed)",
        where, header_length, file_size - 8, kMaxHeaderBytes);
  }
  return header_length;
}

// A header checked entry by entry, with the tensors' offsets checked to tile the `data_size`
// bytes of data exactly. Entries in file order; the checksum stays in the metadata.
struct CheckedHeader {
  std::vector<Entry> entries;
  std::map<std::string, std::string> metadata;
};

CheckedHeader check_header(std::string_view header_text, uint64_t data_size,
                           const std::string& where) {
  const Json header = parse_header(header_text, where);
  CheckedHeader checked;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) fail("load_safetensors: __metadata__ in {} is not an object", where);
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) {
          fail("load_safetensors: metadata {} in {} is {}, expected a string", printable(key),
               where, describe_json(value));
        }
        checked.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    checked.entries.push_back(parse_entry(name, entry, where));
  }
  // The tensors must tile the data section: sorted by offset, each begins where the last ended.
  std::sort(checked.entries.begin(), checked.entries.end(), [](const Entry& a, const Entry& b) {
    return std::pair(a.begin, a.end) < std::pair(b.begin, b.end);
  });
  uint64_t covered = 0;
  for (const Entry& e : checked.entries) {
    if (e.begin != covered) {
      fail(
          "load_safetensors: tensor {} in {} starts at data byte {}, expected {} (tensors must "
          "follow each other without gaps or overlaps)",
          printable(e.name), where, e.begin, covered);
    }
    covered = e.end;
  }
  if (covered != data_size) {
    fail("load_safetensors: the tensors of {} cover {} bytes of data, but the file has {}{}", where,
         covered, data_size, covered > data_size ? " (truncated file?)" : "");
  }
  return checked;
}

// Each tensor read in file order into its own memory and handed to `take` (so a file is never
// held in memory twice); then the checksum compared where the file has one.
void stream_tensors(const CheckedHeader& header, const ReadNext& read_next,
                    const std::string& where, const TakeTensor& take) {
  uint32_t checksum = 0;
  std::vector<uint16_t> halves;
  for (const Entry& e : header.entries) {
    Tensor tensor = empty(e.shape, {e.dtype});
    const uint64_t bytes = e.end - e.begin;
    if (bytes == 0) {
      // an empty tensor: nothing to read
    } else if (e.stored == Stored::AsDtype) {
      read_next(tensor.raw_data(), bytes);
      checksum = crc32c(tensor.raw_data(), bytes, checksum);
    } else {
      halves.resize(static_cast<size_t>(bytes / 2));
      read_next(halves.data(), bytes);
      checksum = crc32c(halves.data(), bytes, checksum);
      float* out = tensor.data_ptr<float>();
      for (size_t i = 0; i < halves.size(); ++i) {
        out[i] = e.stored == Stored::F16 ? float_from_f16(halves[i]) : float_from_bf16(halves[i]);
      }
    }
    take(e.name, tensor);
  }
  if (auto stored = header.metadata.find(kChecksumKey); stored != header.metadata.end()) {
    const std::string actual = fmt::format("{:08x}", checksum);
    if (stored->second != actual) {
      fail(
          "load_safetensors: the data of {} does not match its checksum (stored {}, computed "
          "{}): the file is corrupted",
          where, printable(stored->second, 16), actual);
    }
  }
}

SafetensorsFile read_tensors(std::string_view header_text, uint64_t data_size,
                             const ReadNext& read_next, const std::string& where) {
  CheckedHeader header = check_header(header_text, data_size, where);
  SafetensorsFile file;
  stream_tensors(header, read_next, where, [&](const std::string& name, const Tensor& tensor) {
    file.tensors.emplace(name, tensor);
  });
  header.metadata.erase(kChecksumKey);
  file.metadata = std::move(header.metadata);
  return file;
}

// An open safetensors file, positioned at the start of its data, with its header read.
struct OpenFile {
  std::ifstream in;
  std::string header_text;
  uint64_t data_size = 0;
  std::string where;

  explicit OpenFile(const std::filesystem::path& path) : where(path.string()) {
    std::error_code error;
    const auto status = std::filesystem::status(path, error);
    if (!std::filesystem::exists(status)) fail("load_safetensors: no such file: {}", where);
    if (std::filesystem::is_directory(status)) {
      fail("load_safetensors: {} is a directory, expected a safetensors file", where);
    }
    if (!std::filesystem::is_regular_file(status)) {
      fail("load_safetensors: {} is not a regular file (a pipe or a device?)", where);
    }
    in.open(path, std::ios::binary);
    if (!in) fail("load_safetensors: cannot open {}: {}", where, std::strerror(errno));
    const uint64_t file_size = std::filesystem::file_size(path, error);
    if (error) fail("load_safetensors: cannot read the size of {}: {}", where, error.message());
    char first_eight[8] = {};
    in.read(first_eight, file_size < 8 ? std::streamsize(file_size) : 8);
    const uint64_t header_length = checked_header_length(first_eight, file_size, where);
    header_text.assign(header_length, '\0');
    in.read(header_text.data(), static_cast<std::streamsize>(header_length));
    if (!in) fail("load_safetensors: reading {} failed", where);
    data_size = file_size - 8 - header_length;
  }

  ReadNext reader() {
    return [this](void* destination, uint64_t size) {
      in.read(static_cast<char*>(destination), static_cast<std::streamsize>(size));
      if (!in) fail("load_safetensors: reading {} failed (did it shrink while being read?)", where);
    };
  }
};

}  // namespace

SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& where) {
  const uint64_t header_length = checked_header_length(bytes.data(), bytes.size(), where);
  const std::string_view data = bytes.substr(8 + header_length);
  uint64_t at = 0;
  return read_tensors(
      bytes.substr(8, header_length), data.size(),
      [&](void* destination, uint64_t size) {
        std::memcpy(destination, data.data() + at, size);
        at += size;
      },
      where);
}

SafetensorsFile load_safetensors(const std::filesystem::path& path) {
  OpenFile file(path);
  return read_tensors(file.header_text, file.data_size, file.reader(), file.where);
}

SafetensorsHeader read_safetensors_header(const std::filesystem::path& path) {
  OpenFile file(path);
  const CheckedHeader checked = check_header(file.header_text, file.data_size, file.where);
  SafetensorsHeader header;
  for (const Entry& e : checked.entries) header.tensors[e.name] = {e.dtype, e.shape};
  header.metadata = checked.metadata;
  header.metadata.erase(kChecksumKey);
  return header;
}

void for_each_safetensor(const std::filesystem::path& path, const TakeTensor& take) {
  OpenFile file(path);
  const CheckedHeader checked = check_header(file.header_text, file.data_size, file.where);
  stream_tensors(checked, file.reader(), file.where, take);
}

}  // namespace heed
