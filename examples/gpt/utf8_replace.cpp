// UTF-8 decoding with replacement, by the table of well-formed byte sequences (Unicode, Table
// 3-7): the first byte fixes the length and the range the second byte must fall in; every later
// byte is a continuation byte 80..BF.
#include "examples/gpt/utf8_replace.hpp"

namespace gpt {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

struct Lead {
  int length;  // 0: this byte never starts a character
  unsigned char second_low, second_high;
};

Lead lead_of(unsigned char b) {
  if (b >= 0xC2 && b <= 0xDF) return {2, 0x80, 0xBF};
  if (b == 0xE0) return {3, 0xA0, 0xBF};  // no overlong three-byte forms
  if (b == 0xED) return {3, 0x80, 0x9F};  // no UTF-16 surrogates
  if (b >= 0xE1 && b <= 0xEF) return {3, 0x80, 0xBF};
  if (b == 0xF0) return {4, 0x90, 0xBF};  // no overlong four-byte forms
  if (b >= 0xF1 && b <= 0xF3) return {4, 0x80, 0xBF};
  if (b == 0xF4) return {4, 0x80, 0x8F};  // nothing above U+10FFFF
  return {0, 0, 0};
}

}  // namespace

std::string replace_invalid_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    if (b < 0x80) {
      out += static_cast<char>(b);
      ++i;
      continue;
    }
    const Lead lead = lead_of(b);
    if (lead.length == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    // How many bytes of the sequence are well formed, counting the lead.
    int good = 1;
    while (good < lead.length && i + good < bytes.size()) {
      const auto next = static_cast<unsigned char>(bytes[i + good]);
      const bool fits = good == 1 ? next >= lead.second_low && next <= lead.second_high
                                  : next >= 0x80 && next <= 0xBF;
      if (!fits) break;
      ++good;
    }
    if (good == lead.length) {
      out.append(bytes.substr(i, static_cast<size_t>(good)));
    } else {
      out += kReplacement;  // the maximal ill-formed prefix, however long, is one U+FFFD
    }
    i += static_cast<size_t>(good);
  }
  return out;
}

}  // namespace gpt
