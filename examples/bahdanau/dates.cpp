#include "examples/bahdanau/dates.hpp"

#include <array>
#include <chrono>
#include <unordered_set>

namespace bahdanau {

using namespace heed;

namespace {

const std::array<const char*, 12> kMonths = {"january",   "february", "march",    "april",
                                             "may",       "june",     "july",     "august",
                                             "september", "october",  "november", "december"};
const std::array<const char*, 7> kWeekdays = {"sunday",   "monday", "tuesday", "wednesday",
                                              "thursday", "friday", "saturday"};

std::string ordinal(int day) {
  const char* suffix = (day % 100 >= 11 && day % 100 <= 13) ? "th"
                       : day % 10 == 1                      ? "st"
                       : day % 10 == 2                      ? "nd"
                       : day % 10 == 3                      ? "rd"
                                                            : "th";
  return fmt::format("{}{}", day, suffix);
}

}  // namespace

std::string iso_date(int year, int month, int day) {
  return fmt::format("{:04}-{:02}-{:02}", year, month, day);
}

std::string human_date(int year, int month, int day, int format, bool zero_pad) {
  using namespace std::chrono;
  const year_month_day date{std::chrono::year(year), std::chrono::month(unsigned(month)),
                            std::chrono::day(unsigned(day))};
  if (!date.ok()) fail("{} is not a date", iso_date(year, month, day));
  const std::string month_name = kMonths[size_t(month - 1)];
  const std::string short_month = month_name.substr(0, 3);
  const std::string weekday_name = kWeekdays[weekday(sys_days(date)).c_encoding()];
  const std::string short_weekday = weekday_name.substr(0, 3);
  const std::string d = zero_pad ? fmt::format("{:02}", day) : std::to_string(day);
  const std::string m = zero_pad ? fmt::format("{:02}", month) : std::to_string(month);
  const std::string yy = fmt::format("{:02}", year % 100);
  switch (format) {
    case 0:
      return fmt::format("{} {} {} {}", weekday_name, day, month_name, year);
    case 1:
      return fmt::format("{} {} {}", day, month_name, year);
    case 2:
      return fmt::format("{}/{}/{}", d, m, yy);
    case 3:
      return fmt::format("{}/{}/{}", d, m, year);
    case 4:
      return fmt::format("{} {}, {}", short_month, day, year);
    case 5:
      return fmt::format("{} {}, {}", month_name, day, year);
    case 6:
      return fmt::format("{}.{}.{}", d, m, year);
    case 7:
      return fmt::format("{} {} {}", day, short_month, year);
    case 8:
      return fmt::format("{}, {} {} {}", short_weekday, day, short_month, year);
    case 9:
      return fmt::format("the {} of {} {}", ordinal(day), month_name, year);
    case 10:
      return fmt::format("{}-{}-{}", d, short_month, year);
    case 11:
      return fmt::format("{}, {} {}, {}", weekday_name, month_name, day, year);
    case 12:
      return fmt::format("{} {} '{}", ordinal(day), short_month, yy);
    default:
      fail("date format {} does not exist (0 .. {})", format, kDateFormats - 1);
  }
}

void date_pairs(int64_t train, int64_t held_out, uint64_t seed,
                std::vector<SentencePair>& train_pairs, std::vector<SentencePair>& held_out_pairs) {
  using namespace std::chrono;
  const sys_days first = sys_days(1950y / January / 1), last = sys_days(2049y / December / 31);
  const auto span = static_cast<uint64_t>((last - first).count() + 1);
  Generator generator(seed);
  auto draw = [&] {
    const year_month_day date{first + days(int64_t(generator.next_u64() % span))};
    const int format = static_cast<int>(generator.next_u64() % kDateFormats);
    const bool zero_pad = generator.next_u64() % 2 == 0;
    const int y = int(date.year()), m = int(unsigned(date.month())), d = int(unsigned(date.day()));
    return SentencePair{human_date(y, m, d, format, zero_pad), iso_date(y, m, d)};
  };
  std::unordered_set<std::string> seen;
  train_pairs.clear(), held_out_pairs.clear();
  while (int64_t(train_pairs.size()) < train) {
    SentencePair pair = draw();
    seen.insert(pair.source);
    train_pairs.push_back(std::move(pair));
  }
  while (int64_t(held_out_pairs.size()) < held_out) {
    SentencePair pair = draw();
    if (seen.insert(pair.source).second) held_out_pairs.push_back(std::move(pair));
  }
}

}  // namespace bahdanau
