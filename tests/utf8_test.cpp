#include "base/utf8.h"

#include <gtest/gtest.h>

namespace ksearch {
namespace {

TEST(Utf8, DecodesKoreanAndEmoji) {
  const std::string text = "한a😀";
  std::size_t pos = 0;
  EXPECT_EQ(utf8::decode(text, pos), U'한');
  EXPECT_EQ(pos, 3u);
  EXPECT_EQ(utf8::decode(text, pos), U'a');
  EXPECT_EQ(utf8::decode(text, pos), U'😀');
  EXPECT_EQ(pos, text.size());
  EXPECT_EQ(utf8::length(text), 3u);
}

TEST(Utf8, FindsInvalidSequences) {
  EXPECT_FALSE(utf8::find_invalid("정상 텍스트"));
  EXPECT_FALSE(utf8::find_invalid("\xEF\xBF\xBD"));  // a literal U+FFFD is valid
  EXPECT_EQ(utf8::find_invalid("ab\xFF"), 2u);
  EXPECT_EQ(utf8::find_invalid("\xED\x95"), 0u);          // truncated 3-byte sequence
  EXPECT_EQ(utf8::find_invalid("\xC0\xAF"), 0u);          // overlong '/'
  EXPECT_EQ(utf8::find_invalid("x\xED\xA0\x80"), 1u);     // UTF-16 surrogate
  EXPECT_EQ(utf8::find_invalid("\xF4\x90\x80\x80"), 0u);  // > U+10FFFF
}

TEST(Utf8, SanitizeReplacesEachBadByte) {
  EXPECT_EQ(utf8::sanitize("a\xFF"
                           "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(utf8::sanitize("한글"), "한글");
}

TEST(Utf8, FloorBoundaryNeverSplitsASyllable) {
  const std::string text = "가나";  // 6 bytes
  EXPECT_EQ(utf8::floor_boundary(text, 0), 0u);
  EXPECT_EQ(utf8::floor_boundary(text, 1), 0u);
  EXPECT_EQ(utf8::floor_boundary(text, 2), 0u);
  EXPECT_EQ(utf8::floor_boundary(text, 3), 3u);
  EXPECT_EQ(utf8::floor_boundary(text, 5), 3u);
  EXPECT_EQ(utf8::floor_boundary(text, 99), 6u);
}

TEST(Utf8, ClassifiesScripts) {
  EXPECT_TRUE(utf8::is_hangul(U'한'));
  EXPECT_TRUE(utf8::is_hangul(U'ㄱ'));
  EXPECT_FALSE(utf8::is_hangul(U'a'));
  EXPECT_TRUE(utf8::is_cjk(U'龘'));
  EXPECT_TRUE(utf8::is_space(U'\u3000'));
  EXPECT_FALSE(utf8::is_space(U'가'));
}

}  // namespace
}  // namespace ksearch
