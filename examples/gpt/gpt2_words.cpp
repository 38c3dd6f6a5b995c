// GPT-2's pattern compiled once with PCRE2 in UTF mode with Unicode properties (PCRE2_UCP, so \s
// and \p{L} are Unicode's classes, not ASCII's), and JIT-compiled where the platform allows.
#include "examples/gpt/gpt2_words.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8  // pcre2.h serves 8-, 16- and 32-bit strings; UTF-8 is 8
#include <pcre2.h>

#include <memory>

#include "engine/error.hpp"

namespace gpt {

namespace {

constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof buffer);
  return reinterpret_cast<const char*>(buffer);
}

}  // namespace

struct Gpt2Words::Pattern {
  pcre2_code* code = nullptr;
  ~Pattern() { pcre2_code_free(code); }
};

Gpt2Words::Gpt2Words() : pattern_(new Pattern) {
  int error = 0;
  PCRE2_SIZE error_offset = 0;
  pattern_->code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kGpt2Pattern.data()), kGpt2Pattern.size(),
                    PCRE2_UTF | PCRE2_UCP, &error, &error_offset, nullptr);
  if (pattern_->code == nullptr) {
    delete pattern_;
    heed::fail("GPT-2's word pattern: PCRE2 refused it at offset {}: {}", error_offset,
               pcre2_message(error));
  }
  // Faster matching where PCRE2 has a JIT for this CPU; without it the interpreter gives the
  // same matches, so a refusal here changes nothing but speed.
  pcre2_jit_compile(pattern_->code, PCRE2_JIT_COMPLETE);
}

Gpt2Words::~Gpt2Words() {
  delete pattern_;
}

std::vector<std::string_view> Gpt2Words::split(std::string_view text) const {
  std::vector<std::string_view> words;
  const std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> match(
      pcre2_match_data_create_from_pattern(pattern_->code, nullptr), pcre2_match_data_free);
  if (!match) heed::fail("GPT-2's word pattern: out of memory for PCRE2's match data");
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t offset = 0;
  while (offset < text.size()) {
    // The text was made valid UTF-8 before it gets here, so PCRE2 need not check it again.
    const int found = pcre2_match(pattern_->code, subject, text.size(), offset, PCRE2_NO_UTF_CHECK,
                                  match.get(), nullptr);
    if (found == PCRE2_ERROR_NOMATCH) break;
    if (found < 0) heed::fail("GPT-2's word pattern: PCRE2 failed: {}", pcre2_message(found));
    const PCRE2_SIZE* bounds = pcre2_get_ovector_pointer(match.get());
    if (bounds[1] <= bounds[0])
      heed::fail("GPT-2's word pattern: an empty match at byte {}", offset);
    // Every character matches one of the alternatives (\s+ or [^\s\p{L}\p{N}]+ at worst), so
    // matches follow one another with no gap and are never empty.
    if (bounds[0] > offset) words.push_back(text.substr(offset, bounds[0] - offset));
    words.push_back(text.substr(bounds[0], bounds[1] - bounds[0]));
    offset = bounds[1];
  }
  if (offset < text.size()) words.push_back(text.substr(offset));
  return words;
}

}  // namespace gpt
