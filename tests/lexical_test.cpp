#include <gtest/gtest.h>

#include "base/error.h"
#include "store/lexical.h"

namespace ksearch {
namespace {

std::vector<std::string> texts(std::string_view input) {
  std::vector<std::string> out;
  for (const auto& token : lexical_tokens(input)) out.push_back(token.text);
  return out;
}

TEST(Lexical, HangulBigramsStemsAndWholeLatinWords) {
  EXPECT_EQ(texts("서울에서"), (std::vector<std::string>{"서울", "울에", "에서", "~서울"}));
  EXPECT_EQ(texts("Galaxy S24의 출고가"),
            (std::vector<std::string>{"galaxy", "s24", "의", "~의", "출고", "고가", "~출고"}));
  EXPECT_EQ(texts("ＡＢＣ　１２３"), (std::vector<std::string>{"abc", "123"}));
  EXPECT_EQ(texts("한 글자"), (std::vector<std::string>{"한", "~한", "글자", "~글자"}));
  EXPECT_TRUE(texts("!!! ... 😀").empty());
  const auto tokens = lexical_tokens("a 서울");  // a, 서울, ~서울
  ASSERT_EQ(tokens.size(), 3u);
  EXPECT_EQ(tokens[1].begin, 2u);
  EXPECT_EQ(tokens[1].end, 8u);
  EXPECT_EQ(tokens[2].kind, TermKind::Stem);
}

TEST(Lexical, StemsDropParticlesAndEndingsButKeepShortWords) {
  const auto stem = [](std::string_view word) { return texts(word).back(); };
  EXPECT_EQ(stem("학생들에게"), "~학생");  // 에게, then 들
  EXPECT_EQ(stem("발표하였다"), "~발표");
  EXPECT_EQ(stem("대한민국의"), "~대한민국");
  EXPECT_EQ(stem("서울특별시는"), "~서울특별시");
  EXPECT_EQ(stem("국가"), "~국가");  // 가 is a particle, but a one-syllable stem is too little to trust
  EXPECT_EQ(stem("나라에서"), "~나라");
  // A one-syllable word keeps its stem before 을 를 은 는 에, particles that rarely end a two-syllable noun.
  EXPECT_EQ(stem("책을"), "~책");
  EXPECT_EQ(stem("왕은"), "~왕");
  EXPECT_EQ(stem("책"), "~책");
  EXPECT_EQ(stem("나이"), "~나이");
  EXPECT_EQ(stem("제도"), "~제도");
  // Past-tense and question endings, so a question's verb meets the text's.
  EXPECT_EQ(stem("사망했나"), "~사망");
  EXPECT_EQ(stem("사망했다"), "~사망");
  EXPECT_EQ(stem("형성되었는가"), "~형성");
  EXPECT_EQ(stem("수상했었는가"), "~수상");  // 었는가, then 했
}

TEST(Lexical, NfdTextGivesTheTokensOfNfcWithTheDecomposedByteRanges) {
  const std::string nfc = "서울에서 café";
  // 서울에서 as conjoining jamo (what macOS file names and some exports hold) and é as e + U+0301.
  const std::string nfd = "\u1109\u1165\u110B\u116E\u11AF\u110B\u1166\u1109\u1165 cafe\u0301";
  EXPECT_EQ(texts(nfd), texts(nfc));
  const auto tokens = lexical_tokens(nfd);
  EXPECT_EQ(tokens[0].begin, 0u);
  EXPECT_EQ(tokens[0].end, 15u);  // 서 = 2 jamo, 울 = 3 jamo, 3 bytes each
  EXPECT_EQ(tokens.back().end, nfd.size());
}

TEST(Lexical, QueryQuotesEveryTermSoQueriesCannotInject) {
  EXPECT_EQ(lexical_query("서울 서울").expression, "\"서울\" OR \"~서울\"");
  EXPECT_EQ(lexical_query("NEAR(a b) OR c* \"x\"").expression,
            "\"near\" OR \"a\" OR \"b\" OR \"or\" OR \"c\" OR \"x\"");
  EXPECT_TRUE(lexical_query("?!").expression.empty());
}

TEST(Lexical, QueryLeavesOutInterrogatives) {
  EXPECT_EQ(lexical_query("서울은 어디인가?").expression, "\"서울\" OR \"울은\" OR \"~서울\"");
  EXPECT_EQ(lexical_query("누가 무엇을 언제").expression, "\"누가\" OR \"~누가\"");
  EXPECT_EQ(texts("무엇").size(), 2u);  // documents keep them
}

TEST(Lexical, QueryLeavesOutParticlesOfLatinAndNumberWords) {
  EXPECT_EQ(lexical_query("S24의 가격").expression, "\"s24\" OR \"가격\" OR \"~가격\"");
  EXPECT_EQ(lexical_query("1443년에").expression, "\"1443\" OR \"1443년\" OR \"년에\" OR \"~년\"");
  EXPECT_EQ(texts("S24의"), (std::vector<std::string>{"s24", "의", "~의"}));  // documents keep them
}

TEST(Lexical, ANumberAndItsUnitAlsoFormOneTerm) {
  EXPECT_EQ(texts("1876년에"), (std::vector<std::string>{"1876", "1876년", "년에", "~년"}));
  // After a number, a one-syllable unit is a stem before any particle (3세가, 4위의; 세가 alone is no stem).
  EXPECT_EQ(texts("3세가"), (std::vector<std::string>{"3", "3세", "세가", "~세"}));
  EXPECT_EQ(texts("세가"), (std::vector<std::string>{"세가", "~세가"}));
  EXPECT_EQ(texts("12가지의"), (std::vector<std::string>{"12", "12가지", "가지", "지의", "~가지"}));
  EXPECT_EQ(texts("5천만"), (std::vector<std::string>{"5", "5천만", "천만", "~천만"}));  // 만 is no particle here
  EXPECT_EQ(texts("1990 년"), (std::vector<std::string>{"1990", "년", "~년"}));          // a space: two words
  EXPECT_EQ(texts("S24의"), (std::vector<std::string>{"s24", "의", "~의"}));             // not a number
  const auto tokens = lexical_tokens("약 1876년");
  ASSERT_EQ(tokens.size(), 6u);  // 약 ~약 1876 1876년 년 ~년
  EXPECT_EQ(tokens[3].begin, 4u);
  EXPECT_EQ(tokens[3].end, 11u);
  EXPECT_EQ(tokens[3].kind, TermKind::Word);
  // A query keeps the term where it leaves the unit's own tokens out (만 alone is a particle).
  EXPECT_EQ(lexical_query("100만 명").expression, "\"100\" OR \"100만\" OR \"명\" OR \"~명\"");
}

TEST(Lexical, QueryLeavesOutAnInterrogativeWrittenTogetherWithWhatFollows) {
  EXPECT_EQ(lexical_query("어느나라").expression, "\"나라\" OR \"~나라\"");
  EXPECT_TRUE(lexical_query("무엇이라고 누구에게").expression.empty());
  // 몇 counts: what follows it is a unit.
  EXPECT_EQ(lexical_query("몇년도에").expression, "\"년도\" OR \"도에\" OR \"~년\"");
  EXPECT_EQ(lexical_query("어느어느나라").expression, "\"나라\" OR \"~나라\"");
  // A one-syllable rest stays in its word: alone, 개 would not match the text's 몇개.
  EXPECT_EQ(lexical_query("몇개").expression, "\"몇개\" OR \"~몇개\"");
  EXPECT_EQ(lexical_query("왜곡").expression, "\"왜곡\" OR \"~왜곡\"");  // 왜 also begins nouns
  EXPECT_EQ(texts("무엇이라고").front(), "무엇");                        // documents keep them
}

TEST(Lexical, QueryDiscountsBigramsThatReachIntoParticles) {
  const LexicalQuery query = lexical_query("서울에서");
  EXPECT_EQ(query.expression, "\"서울\" OR \"울에\" OR \"에서\" OR \"~서울\"");
  ASSERT_EQ(query.weights.size(), 4u);
  EXPECT_EQ(query.weights[0], 1.0);
  EXPECT_LT(query.weights[1], 1.0);
  EXPECT_LT(query.weights[2], 1.0);
}

double weight_of(const LexicalQuery& query, std::string_view term) {
  const std::string quoted = cat('"', term, '"');
  std::size_t index = 0;
  for (std::size_t pos = 0; (pos = query.expression.find('"', pos)) != std::string::npos; ++index) {
    if (query.expression.compare(pos, quoted.size(), quoted) == 0) return query.weights.at(index);
    pos = query.expression.find('"', pos + 1) + 1;
  }
  return 0;
}

TEST(Lexical, QueryWeighsTheAskedWordOfAQuestionLess) {
  const LexicalQuery statement = lexical_query("크루즈 남편의 이름");
  const LexicalQuery question = lexical_query("크루즈 남편의 이름은?");
  EXPECT_EQ(weight_of(question, "남편"), weight_of(statement, "남편"));
  EXPECT_EQ(weight_of(question, "~크루즈"), weight_of(statement, "~크루즈"));
  EXPECT_GT(weight_of(statement, "이름"), 0);
  EXPECT_LT(weight_of(question, "이름"), weight_of(statement, "이름"));
  EXPECT_LT(weight_of(question, "~이름"), weight_of(statement, "~이름"));
  // Past a final interrogative (left out of queries) and in a full-width ？ too.
  const LexicalQuery asked = lexical_query("서울의 인구는 얼마인가？ ");
  EXPECT_LT(weight_of(asked, "인구"), weight_of(asked, "서울"));
  // A Latin or number word keeps its weight.
  EXPECT_EQ(weight_of(lexical_query("S24 출시 연도는?"), "s24"), 1.0);
}

}  // namespace
}  // namespace ksearch
