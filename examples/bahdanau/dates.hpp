// The built-in task, needing no download: dates as people write them, translated to ISO 8601.
//   "saturday 21 november 2026", "21/11/26", "nov 21, 2026", "the 21st of november 2026",
//   "21.11.2026", ... -> "2026-11-21"
// The year comes last in the source and first in the target, and month names must become
// digits, so the alignment the attention learns is not monotonic: its heatmap shows the
// re-ordering. Dates fall between 1950 and 2049, so a two-digit year is unambiguous.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "examples/bahdanau/data.hpp"

namespace bahdanau {

// How many ways human_date can write a date.
inline constexpr int kDateFormats = 13;

// One date in one format (0 .. kDateFormats - 1); zero_pad picks "01/03/26" over "1/3/26" in
// the numeric formats. heed::Error for an invalid date or format.
std::string human_date(int year, int month, int day, int format, bool zero_pad);
std::string iso_date(int year, int month, int day);  // "2026-11-21"

// `train` and `held_out` random pairs (date, format and padding drawn from a generator seeded
// with `seed`); no held-out source appears among the training sources.
void date_pairs(int64_t train, int64_t held_out, uint64_t seed,
                std::vector<SentencePair>& train_pairs, std::vector<SentencePair>& held_out_pairs);

}  // namespace bahdanau
