#include <gtest/gtest.h>

#include "store/sentence_window.h"

namespace ksearch {
namespace {

// Query terms and their weights, as the keyword leg passes them (each term's weighted idf).
std::unordered_map<std::string, double> weights(std::initializer_list<std::pair<const char*, double>> words) {
  std::unordered_map<std::string, double> out;
  for (const auto& [word, weight] : words) out.emplace(word, weight);
  return out;
}

TEST(SentenceWindow, TermsOfTwoConsecutiveSentencesCountTogether) {
  const auto query = weights({{"서울", 1}, {"항구", 2}, {"부산", 4}});
  EXPECT_DOUBLE_EQ(best_sentence_window("서울 항구. 부산 바다.", query), 7);
  // Three sentences: 서울 and 부산 are never within two consecutive ones.
  EXPECT_DOUBLE_EQ(best_sentence_window("서울 하늘. 바다 구름. 부산 바다.", query), 4);
  EXPECT_DOUBLE_EQ(best_sentence_window("바다 구름. 서울 하늘. 부산 바다.", query), 5);
  // A term found twice in a window counts once.
  EXPECT_DOUBLE_EQ(best_sentence_window("부산 부산. 부산 바다. 하늘 구름.", query), 4);
  EXPECT_DOUBLE_EQ(best_sentence_window("하늘 구름", query), 0);
  EXPECT_DOUBLE_EQ(best_sentence_window("", query), 0);
  EXPECT_DOUBLE_EQ(best_sentence_window("서울 부산", {}), 0);
}

TEST(SentenceWindow, SentencesEndAtAMarkAndASpaceOrAtALineBreak) {
  const auto query = weights({{"서울", 1}, {"부산", 1}});
  EXPECT_DOUBLE_EQ(best_sentence_window("서울 하늘! 바다 구름? 부산 바다", query), 1);
  EXPECT_DOUBLE_EQ(best_sentence_window("서울 하늘\n바다 구름\n\n부산 바다", query), 1);
  // No space after the mark (3.14, a URL, 서울.부산): the sentence goes on.
  EXPECT_DOUBLE_EQ(best_sentence_window("서울 3.14 바다 구름.하늘 구름.부산", query), 2);
  // Empty lines and repeated marks do not make sentences of their own that would part a window.
  EXPECT_DOUBLE_EQ(best_sentence_window("서울 하늘...\n\n\n부산 바다!!  하늘 구름.", query), 2);
}

TEST(SentenceWindow, MatchesTheIndexsTermsIncludingStems) {
  // 서울에서 gives the bigrams 서울 울에 에서 and the stem ~서울, as lexical_tokens() does for the index.
  EXPECT_DOUBLE_EQ(best_sentence_window("서울에서 만나요.", weights({{"~서울", 0.5}, {"울에", 0.3}})), 0.8);
  EXPECT_DOUBLE_EQ(best_sentence_window("Galaxy S24의 출고가", weights({{"s24", 2}, {"galaxy", 1}})), 3);
}

}  // namespace
}  // namespace ksearch
