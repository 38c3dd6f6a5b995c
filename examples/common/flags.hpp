// The examples' command lines (CLI11): validators that show each number's range in --help and
// refuse values outside it (NaN and inf included) while the flags are parsed, before any work;
// and the options every subcommand shares, accepted before or after the subcommand's name.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <type_traits>

#include "engine/error.hpp"
#include "examples/common/checks.hpp"

namespace examples {

// A validator for IntRange (values read as whole numbers) or RealRange (read as reals).
template <typename Range>
CLI::Validator in_range(Range range) {
  using Value = std::conditional_t<std::is_same_v<Range, IntRange>, int64_t, double>;
  return CLI::Validator(
      [range](std::string& input) -> std::string {
        Value value = 0;
        if (!CLI::detail::lexical_cast(input, value)) {
          return fmt::format("expected {} in {}, got '{}'",
                             std::is_integral_v<Value> ? "a whole number" : "a number",
                             describe(range), input);
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
