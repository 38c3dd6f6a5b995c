// heed::Error: the one exception type for every user mistake (bad shapes, indices, files, flags).
// Messages name the operation, what it expected and what it found.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace heed {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Throws heed::Error with a fmt-formatted message: fail("bmm: expected 3-D tensors, got {}", s).
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace heed
