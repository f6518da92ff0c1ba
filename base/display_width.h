// Text as a terminal shows it: columns per character (Hangul and CJK take two), control characters made visible,
// and cutting or wrapping to a width.  Untrusted text (document contents, file names) goes through
// escape_controls() before it reaches a terminal, so it can never move the cursor, retitle the window or split a
// result line (#35 finding 11).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ksearch {

// Columns one code point takes on a terminal: 2 for East Asian wide and full-width characters (Hangul syllables,
// CJK, emoji), 0 for combining marks and conjoining jamo vowels/finals, 1 otherwise.
std::size_t char_width(char32_t c);

// Columns `text` (UTF-8) takes; invalid bytes count as U+FFFD (one column).
std::size_t display_width(std::string_view text);

// `text` with every character a terminal would interpret written out instead: \n \r \t as those two characters,
// other C0 and C1 controls and DEL as \xHH or \u00HH, bidirectional overrides as \uHHHH; invalid UTF-8 becomes
// U+FFFD.  Printable text is unchanged.
std::string escape_controls(std::string_view text);

// The longest prefix of `text` (whole characters) that fits in `columns`, ending in "…" when something was cut.
std::string fit_width(std::string_view text, std::size_t columns);

// The longest suffix of `text` that fits in `columns`, starting with "…" when something was cut (for paths, whose
// end names the file).
std::string fit_width_from_end(std::string_view text, std::size_t columns);

// Byte ranges [begin, end) of `text` split into lines of at most `columns`, broken after spaces (the spaces at a
// break are left out) and inside a word only when the word alone is wider than a line.  `text` must hold no
// control characters (escape it first).
std::vector<std::pair<std::size_t, std::size_t>> wrap_lines(std::string_view text, std::size_t columns);

}  // namespace ksearch
