// The readers under test open files by path, so each fuzz input is written to one temporary file
// per target and process, overwritten for every input.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace heed::fuzz {

inline std::string write_input_file(const char* target, const uint8_t* data, size_t size) {
  static const std::string path =
      (std::filesystem::temp_directory_path() /
       (std::string("heed-fuzz-") + target + "-" + std::to_string(getpid())))
          .string();
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

}  // namespace heed::fuzz
