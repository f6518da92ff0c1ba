// Unicode properties and normalization forms for the tokenizers, on top of utf8proc (Debian's libutf8proc), so the
// character tables follow the Unicode version of a maintained library instead of hand-written ranges.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "embed/normalized_text.h"

namespace ksearch::unicode {

enum class Form { Nfc, Nfd, Nfkc, Nfkd };

bool is_whitespace(char32_t c);   // White_Space (Rust char::is_whitespace, regex \s)
bool is_word_char(char32_t c);    // regex \w: letters, marks, decimal digits, connector punctuation, joiners
bool is_punctuation(char32_t c);  // ASCII punctuation or a Unicode P* category (BERT's definition)
bool is_numeric(char32_t c);      // Unicode N* categories
bool is_control(char32_t c);      // Cc/Cf/Co/Cn except tab, newline and carriage return (BERT's definition)
bool is_nonspacing_mark(char32_t c);
bool is_cjk_ideograph(char32_t c);  // the CJK blocks BERT pads with spaces

// End of the extended grapheme cluster that starts at byte `pos` of valid UTF-8 `text`.
std::size_t grapheme_end(std::string_view text, std::size_t pos);

// `text` in normalization form `form`; each grapheme cluster is normalized on its own so its output keeps the
// cluster's original range (composition never crosses a cluster boundary).
NormalizedText normalize(NormalizedText text, Form form);

// Full lowercase mapping (U+0130 becomes "i̇" as in Rust's to_lowercase).
NormalizedText lowercase(const NormalizedText& text);

}  // namespace ksearch::unicode
