// The examples' command lines (CLI11): validators that show each number's range in --help and
// refuse values outside it (NaN and inf included) while the flags are parsed, before any work;
// and the options every subcommand shares, accepted before or after the subcommand's name.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "engine/error.hpp"
#include "examples/common/checks.hpp"

namespace examples {

inline CLI::Validator in_range(IntRange range) {
  return CLI::Validator(
      [range](std::string& input) -> std::string {
        int64_t value = 0;
        if (!CLI::detail::lexical_cast(input, value)) {
          return fmt::format("expected a whole number in {}, got '{}'", describe(range), input);
        }
        try {
          check_range("the value", value, range);
        } catch (const heed::Error& e) {
          return e.what();
        }
        return "";
      },
      "in " + describe(range));
}

inline CLI::Validator in_range(RealRange range) {
  return CLI::Validator(
      [range](std::string& input) -> std::string {
        double value = 0;
        if (!CLI::detail::lexical_cast(input, value)) {
          return fmt::format("expected a number in {}, got '{}'", describe(range), input);
        }
        try {
          check_range("the value", value, range);
        } catch (const heed::Error& e) {
          return e.what();
        }
        return "";
      },
      "in " + describe(range));
}

// Options every subcommand takes; given before or after the subcommand, they mean the same.
struct GlobalOptions {
  int64_t threads = 0;  // 0: all cores
};

inline constexpr IntRange kThreadsRange{0, 1024};

inline void add_global_options(CLI::App& app, GlobalOptions& options) {
  app.add_option("--threads", options.threads,
                 "threads for oneTBB and OpenBLAS (0, the default: all cores)")
      ->check(in_range(kThreadsRange));
}

}  // namespace examples
