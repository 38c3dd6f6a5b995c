// What the examples check before they do any work: numbers against their documented ranges,
// output paths (the directory exists and is writable), input files (regular files, strictly
// valid UTF-8), and entries read back from a checkpoint's metadata. Each failure is one
// heed::Error naming the flag or file, what was expected and what was found.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace examples {

// An inclusive range of whole numbers.
struct IntRange {
  int64_t min, max;
};

// A range of real numbers; NaN and inf are never in one. `open_min`/`open_max` exclude an end.
struct RealRange {
  double min, max;
  bool open_min = false, open_max = false;
};

// Seeds are unsigned 64-bit inside; on the command line and in a checkpoint a whole number in
// [0, 2^63 - 1], so that "-1" or an overflowing number is an error instead of wrapping.
inline constexpr IntRange kSeedRange{0, INT64_MAX};

std::string describe(IntRange range);   // "[1, 65536]"
std::string describe(RealRange range);  // "(0, 1]"

void check_range(std::string_view name, int64_t value, IntRange range);
void check_range(std::string_view name, double value, RealRange range);

// A field of a config read from a file: the error names both ("gpt.safetensors: the model
// config: n_head must be in [1, 256], got 0").
template <typename Value, typename Range>
void check_field(const std::string& where, std::string_view field, Value value, Range range) {
  check_range(std::string(where) + ": " + std::string(field), value, range);
}

// A whole number written as text in a checkpoint ("step": "250"), checked against `range`.
int64_t parse_whole_number(const std::string& text, std::string_view name, IntRange range);

// The folder the examples write into by default (checkpoints, heatmaps), which .gitignore
// covers.
inline constexpr const char* kRunsFolder = "runs";

// `path` can be written by this process: not a directory, in a directory that exists and that
// we may write to. Checked before training or generation starts, not after. A path directly
// inside runs/ gets that folder made first; any other missing folder is an error.
void check_output_file(const std::string& path, std::string_view flag);
// `path` is a writable directory, or can be created as one (its parent exists and is writable).
void check_output_directory(const std::string& path, std::string_view flag);

// The whole of a regular file (not a directory, a pipe or a device), read as bytes.
std::string read_regular_file(const std::string& path, std::string_view what);

// Writes `text` to `path` + ".tmp", then renames it over `path`: a reader never sees half a file.
// `flag` names the option in errors.
void write_file_atomically(const std::string& path, const std::string& text, std::string_view flag);

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF, no stray
// continuation bytes or truncated sequences. The error names `where` and the byte offset.
void check_utf8(std::string_view text, const std::string& where);

// The entry `key` of a checkpoint's metadata, or an error naming the checkpoint.
const std::string& metadata_entry(const std::map<std::string, std::string>& metadata,
                                  const std::string& key, const std::string& checkpoint);

// Stops a run whose loss or gradient norm is NaN or inf, before the optimizer step spreads it
// into the weights. `at` says where ("step 5"); `kept` what is on disk ("the checkpoint of step
// 250 in gpt.safetensors is kept", or "no checkpoint was written").
void stop_if_diverged(double loss, double grad_norm, const std::string& at,
                      const std::string& kept);

// What stop_if_diverged says is on disk: "the checkpoint of step 250 in gpt.safetensors is
// kept" for `saved` = 250 and `unit` = "step", or "no checkpoint was written".
std::string kept_checkpoint(const std::optional<int64_t>& saved, std::string_view unit,
                            const std::string& path);

}  // namespace examples
