// UTF-8 helpers shared by the tokenizer, the readers, the chunker and the lexical tokenizer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ksearch::utf8 {

inline constexpr char32_t kReplacement = 0xFFFD;

// Decodes one code point starting at text[pos]; advances pos.  Invalid or truncated sequences (overlongs,
// surrogates, > U+10FFFF) decode as kReplacement and advance by one byte, so a loop always terminates.
char32_t decode(std::string_view text, std::size_t& pos);

// Byte offset of the first invalid sequence, or nullopt when `text` is valid UTF-8.
std::optional<std::size_t> find_invalid(std::string_view text);

// Copy of `text` with every invalid sequence replaced by U+FFFD (what browsers and Python's errors="replace" do).
std::string sanitize(std::string_view text);

void append(std::string& out, char32_t code_point);

// True for code points with the Unicode White_Space property.
bool is_space(char32_t c);

// Hangul syllables (U+AC00..U+D7A3) and compatibility/conjoining jamo.
bool is_hangul(char32_t c);

// CJK ideographs (Hanja) and kana: scripts written without spaces.
bool is_cjk(char32_t c);

// Length in code points.
std::size_t length(std::string_view text);

// Largest offset <= pos that starts a code point (never splits a multi-byte sequence).
std::size_t floor_boundary(std::string_view text, std::size_t pos);

}  // namespace ksearch::utf8
