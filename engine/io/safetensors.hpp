// The safetensors file format, read and written by heed itself:
//   8 bytes   little-endian u64 N, the length of the header
//   N bytes   JSON: {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]},
//                    ..., "__metadata__": {"key": "string value", ...}}
//   the rest  the tensors' raw little-endian bytes; offsets count from the end of the header
// Files written here load in Python with the safetensors package or a few lines of numpy, and
// files written from PyTorch weights load here.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "engine/tensor.hpp"

namespace heed {

struct SafetensorsFile {
  std::map<std::string, Tensor> tensors;        // CPU tensors, by name
  std::map<std::string, std::string> metadata;  // the "__metadata__" strings
};

// Writes atomically: into `path` + ".tmp" (locked, so a second process saving the same path at
// the same moment gets an error), flushed and fsync'ed, then renamed over `path`. A crash
// mid-save leaves the previous file intact and one stale ".tmp" that the next save reuses.
// Tensors may live on any device and have any layout; float32, float64, int64 and bool are
// stored as F32, F64, I64 and BOOL. The metadata gains "heed.data_crc32c", the CRC-32C of the
// data section, which the reader verifies.
void save_safetensors(const std::filesystem::path& path,
                      const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Reads and validates a whole file. A missing, truncated, corrupted or foreign file is a
// heed::Error that says which and where; nothing is read out of bounds. The rules are those of
// the reference implementation (header at most 100 MiB, JSON at most 128 deep, no duplicate
// keys, canonical dtype names, data_offsets that tile the data exactly), plus the checksum where
// the file has one; files without it (written by other tools) load as well. F32, F64, I64 and
// BOOL load as their dtype; F16 and BF16 (as most published checkpoints ship) load as float32,
// exactly; any other dtype is an error naming it.
SafetensorsFile load_safetensors(const std::filesystem::path& path);

// What a file holds, from its header alone (checked as load_safetensors checks it): each
// tensor's dtype as it would load and its shape, and the metadata. Lets a caller check names and
// shapes before reading any data.
struct SafetensorsHeader {
  struct TensorInfo {
    DType dtype;
    Shape shape;
  };
  std::map<std::string, TensorInfo> tensors;
  std::map<std::string, std::string> metadata;
};
SafetensorsHeader read_safetensors_header(const std::filesystem::path& path);

// Reads the tensors one at a time in file order and hands each to `take`, which can copy it
// where it belongs and let it go: a large file never sits in memory beside its destination.
// The same checks as load_safetensors; the checksum can only be compared after the last tensor,
// so a caller keeps nothing it took from a file that then throws.
void for_each_safetensor(
    const std::filesystem::path& path,
    const std::function<void(const std::string& name, const Tensor& tensor)>& take);

// The same checks on bytes in memory; `where` names them in errors (the fuzz targets use this).
SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& where);

// Where save_safetensors writes before renaming: `path` + ".tmp".
std::filesystem::path temporary_path_for(const std::filesystem::path& path);

}  // namespace heed
