// Input checks shared by the examples; see checks.hpp.
#include "examples/common/checks.hpp"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "engine/error.hpp"
#include "engine/io/json_reader.hpp"

namespace examples {

namespace fs = std::filesystem;

std::string describe(IntRange range) {
  return fmt::format("[{}, {}]", range.min, range.max);
}

std::string describe(RealRange range) {
  return fmt::format("{}{}, {}{}", range.open_min ? "(" : "[", range.min, range.max,
                     range.open_max ? ")" : "]");
}

void check_range(std::string_view name, int64_t value, IntRange range) {
  if (value < range.min || value > range.max) {
    heed::fail("{} must be in {}, got {}", name, describe(range), value);
  }
}

void check_range(std::string_view name, double value, RealRange range) {
  const bool above_min = range.open_min ? value > range.min : value >= range.min;
  const bool below_max = range.open_max ? value < range.max : value <= range.max;
  if (!std::isfinite(value) || !above_min || !below_max) {
    heed::fail("{} must be a number in {}, got {}", name, describe(range), value);
  }
}

int64_t parse_whole_number(const std::string& text, std::string_view name, IntRange range) {
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    heed::fail("{} must be a whole number, got {}", name, heed::printable(text));
  }
  check_range(name, value, range);
  return value;
}

void check_output_file(const std::string& path, std::string_view flag) {
  if (path.empty()) heed::fail("{} needs a file name", flag);
  std::error_code error;
  if (fs::is_directory(path, error)) {
    heed::fail("{} {} is a directory, expected a file name", flag, path);
  }
  const fs::path parent = fs::path(path).has_parent_path() ? fs::path(path).parent_path() : ".";
  if (parent == kRunsFolder && !fs::exists(parent, error)) fs::create_directory(parent, error);
  if (!fs::is_directory(parent, error)) {
    heed::fail("{} {}: the directory {} does not exist", flag, path, parent.string());
  }
  if (::access(parent.c_str(), W_OK) != 0) {
    heed::fail("{} {}: cannot write in {} ({})", flag, path, parent.string(), std::strerror(errno));
  }
  const fs::file_status status = fs::status(path, error);
  if (fs::exists(status) && !fs::is_regular_file(status)) {
    // Writing would block on a pipe, or replace a device with a file (files are renamed into
    // place).
    heed::fail("{} {} exists and is not a regular file (a pipe or a device?)", flag, path);
  }
  if (fs::exists(status) && ::access(path.c_str(), W_OK) != 0) {
    heed::fail("{} {} exists and cannot be written ({})", flag, path, std::strerror(errno));
  }
}

void check_output_directory(const std::string& path, std::string_view flag) {
  if (path.empty()) heed::fail("{} needs a directory name", flag);
  std::error_code error;
  if (fs::exists(path, error)) {
    if (!fs::is_directory(path, error))
      heed::fail("{} {} exists and is not a directory", flag, path);
    if (::access(path.c_str(), W_OK) != 0) {
      heed::fail("{} {}: cannot write in it ({})", flag, path, std::strerror(errno));
    }
    return;
  }
  const fs::path parent = fs::path(path).has_parent_path() ? fs::path(path).parent_path() : ".";
  if (!fs::is_directory(parent, error) || ::access(parent.c_str(), W_OK) != 0) {
    heed::fail("{} {}: cannot create it (its parent {} is missing or not writable)", flag, path,
               parent.string());
  }
}

std::string read_regular_file(const std::string& path, std::string_view what) {
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (!fs::exists(status)) heed::fail("{} {} does not exist", what, path);
  if (fs::is_directory(status)) heed::fail("{} {} is a directory, expected a file", what, path);
  if (!fs::is_regular_file(status)) {
    heed::fail("{} {} is not a regular file (a pipe or a device?)", what, path);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) heed::fail("cannot open {} {}: {}", what, path, std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) heed::fail("reading {} {} failed", what, path);
  return bytes;
}

void check_utf8(std::string_view text, const std::string& where) {
  auto bad = [&](size_t offset, std::string_view why) {
    heed::fail("{} is not valid UTF-8 at byte {}: {}", where, offset, why);
  };
  for (size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    // The lead byte gives the length and the first bits; the rest are 10xxxxxx.
    size_t length = 0;
    char32_t code = 0;
    if (lead >= 0xC2 && lead <= 0xDF)
      length = 2, code = lead & 0x1F;
    else if (lead >= 0xE0 && lead <= 0xEF)
      length = 3, code = lead & 0x0F;
    else if (lead >= 0xF0 && lead <= 0xF4)
      length = 4, code = lead & 0x07;
    else if (lead >= 0x80 && lead <= 0xBF)
      bad(i, "a continuation byte without a lead byte");
    else if (lead == 0xC0 || lead == 0xC1)
      bad(i, "an overlong encoding");
    else
      bad(i, fmt::format("the byte 0x{:02X} never occurs in UTF-8", lead));
    if (i + length > text.size()) bad(i, "a sequence cut short by the end of the text");
    for (size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) bad(i, "a sequence cut short");
      code = (code << 6) | (next & 0x3F);
    }
    const char32_t smallest = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000;
    if (code < smallest) bad(i, "an overlong encoding");
    if (code >= 0xD800 && code <= 0xDFFF) bad(i, "a UTF-16 surrogate");
    if (code > 0x10FFFF) bad(i, "a code point above U+10FFFF");
    i += length;
  }
}

const std::string& metadata_entry(const std::map<std::string, std::string>& metadata,
                                  const std::string& key, const std::string& checkpoint) {
  const auto found = metadata.find(key);
  if (found == metadata.end()) {
    heed::fail("{} has no '{}' entry in its metadata (not a checkpoint of this program?)",
               checkpoint, key);
  }
  return found->second;
}

void stop_if_diverged(double loss, double grad_norm, const std::string& at,
                      const std::string& kept) {
  if (std::isfinite(loss) && std::isfinite(grad_norm)) return;
  heed::fail(
      "training diverged at {}: the loss is {} and the gradient norm {} ({}; try a lower --lr, or "
      "HEED_DETECT_ANOMALY=1 to name the op)",
      at, loss, grad_norm, kept);
}

std::string kept_checkpoint(const std::optional<int64_t>& saved, std::string_view unit,
                            const std::string& path) {
  if (!saved) return "no checkpoint was written";
  return fmt::format("the checkpoint of {} {} in {} is kept", unit, *saved, path);
}

void write_file_atomically(const std::string& path, const std::string& text,
                           std::string_view flag) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) heed::fail("{}: cannot write {}", flag, temporary);
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) heed::fail("{}: cannot move {} into place: {}", flag, path, error.message());
}

}  // namespace examples
