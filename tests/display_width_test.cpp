#include "base/display_width.h"

#include <gtest/gtest.h>

namespace ksearch {
namespace {

std::vector<std::string> wrapped(std::string_view text, std::size_t columns) {
  std::vector<std::string> out;
  for (const auto& [begin, end] : wrap_lines(text, columns)) out.emplace_back(text.substr(begin, end - begin));
  return out;
}

TEST(DisplayWidth, HangulAndCjkTakeTwoColumns) {
  EXPECT_EQ(display_width("abc"), 3u);
  EXPECT_EQ(display_width("한국어"), 6u);
  EXPECT_EQ(display_width("漢字 かな"), 9u);
  EXPECT_EQ(display_width("ＡＢ"), 4u);     // full-width forms
  EXPECT_EQ(display_width("e\u0301"), 1u);  // combining accent
  // Conjoining jamo (ᄒ + ᅡ + ᆫ) render as one syllable: the vowel and final take no column.
  EXPECT_EQ(display_width("\u1112\u1161\u11ab"), 2u);
}

TEST(DisplayWidth, EscapesWhatATerminalWouldInterpret) {
  EXPECT_EQ(escape_controls("보고서 2024.pdf"), "보고서 2024.pdf");
  EXPECT_EQ(escape_controls("a\x1b]0;pwned\x07"
                            "b"),
            "a\\x1b]0;pwned\\x07b");
  EXPECT_EQ(escape_controls("\x1b[2J"), "\\x1b[2J");
  EXPECT_EQ(escape_controls("line\nnext\ttab\r"), "line\\nnext\\ttab\\r");
  EXPECT_EQ(escape_controls("\x7f"), "\\x7f");
  EXPECT_EQ(escape_controls("\u009b"
                            "31m"),
            "\\u009b31m");                                      // C1 CSI
  EXPECT_EQ(escape_controls("abc\u202edef"), "abc\\u202edef");  // right-to-left override
  EXPECT_EQ(escape_controls("a\xff"
                            "b"),
            "a\uFFFDb");  // invalid UTF-8
  const std::string escaped = escape_controls(std::string("x\0y", 3));
  EXPECT_EQ(escaped, "x\\x00y");
}

TEST(DisplayWidth, FitsByCharactersNotBytes) {
  EXPECT_EQ(fit_width("짧은", 10), "짧은");
  // 10 columns: four syllables (8) and the ellipsis; never half a character.
  EXPECT_EQ(fit_width("가나다라마바사", 10), "가나다라…");
  EXPECT_EQ(fit_width("가나다라마바사", 9), "가나다라…");
  EXPECT_EQ(fit_width("abcdef", 4), "abc…");
  EXPECT_EQ(display_width(fit_width("공지/2024년 상반기 시설 대여 안내문.pdf", 20)), 20u);
}

TEST(DisplayWidth, FitsPathsFromTheirEnd) {
  EXPECT_EQ(fit_width_from_end("공지/대여.pdf", 20), "공지/대여.pdf");
  EXPECT_EQ(fit_width_from_end("공지사항/2024/시설 대여 안내.pdf", 16), "… 대여 안내.pdf");
  EXPECT_EQ(fit_width_from_end("abc", 0), "");
}

TEST(DisplayWidth, WrapsAtSpacesWithinTheWidth) {
  EXPECT_EQ(wrapped("서울특별시는 대한민국의 수도이다", 14),
            (std::vector<std::string>{"서울특별시는", "대한민국의", "수도이다"}));
  EXPECT_EQ(wrapped("one two three", 7), (std::vector<std::string>{"one two", "three"}));
  EXPECT_EQ(wrapped("short", 80), (std::vector<std::string>{"short"}));
  // A word wider than the line is cut between characters.
  EXPECT_EQ(wrapped("가나다라마바 사", 6), (std::vector<std::string>{"가나다", "라마바", "사"}));
  for (const auto& line : wrapped("가 나다 라마바사아자차카타파하 거너더러머버서어저처커터퍼허", 11))
    EXPECT_LE(display_width(line), 11u) << line;
}

}  // namespace
}  // namespace ksearch
