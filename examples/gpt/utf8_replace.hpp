// Bytes to valid UTF-8 the way Python decodes with errors="replace" (and so transformers'
// tokenizers, which read text that way and decode GPT-2's byte tokens that way): every maximal
// ill-formed subsequence becomes one U+FFFD, as the Unicode standard recommends. A truncated but
// valid start ("\xe6\x97" of a three-byte character) is one U+FFFD; a byte that can never start
// a character ("\xc0", "\xff", a lone continuation byte) is one U+FFFD each.
#pragma once

#include <string>
#include <string_view>

namespace gpt {

std::string replace_invalid_utf8(std::string_view bytes);

}  // namespace gpt
