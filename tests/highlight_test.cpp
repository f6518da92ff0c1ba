#include <gtest/gtest.h>

#include <string>

#include "search/highlight.h"

namespace ksearch {
namespace {

TEST(Highlight, MarksParticleAttachedMatches) {
  const Snippet snippet = make_snippet("서울특별시는 대한민국의 수도이다. 서울에서 만나요.", "서울 수도");
  EXPECT_EQ(render_snippet(snippet, "[", "]"), "[서울]특별시는 대한민국의 [수도]이다. [서울]에서 만나요.");
  std::string long_text;
  for (int i = 0; i < 100; ++i) long_text += "관계없는 문장입니다. ";
  long_text += "여기에 핵심 단어가 있습니다.";
  const Snippet cut = make_snippet(long_text, "핵심", 60);
  EXPECT_NE(render_snippet(cut, "[", "]").find("[핵심]"), std::string::npos);
  EXPECT_TRUE(cut.text.starts_with("…"));
  // The cut end starts at a word, not inside one.
  EXPECT_TRUE(cut.text.starts_with("…관계없는 ") || cut.text.starts_with("…문장입니다. ")) << cut.text;
}

}  // namespace
}  // namespace ksearch
