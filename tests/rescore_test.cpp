#include <gtest/gtest.h>

#include "store/rescore.h"

namespace ksearch {
namespace {

TEST(Rescore, TermsOfTwoConsecutiveSentencesCountTogether) {
  const TermWeights query = {{"서울", 1}, {"항구", 2}, {"부산", 4}};
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

TEST(Rescore, SentencesEndAtAMarkBeforeWhiteSpaceOrAtABlankLine) {
  const TermWeights query = {{"서울", 1}, {"부산", 1}};
  EXPECT_DOUBLE_EQ(best_sentence_window("서울 하늘! 바다 구름? 부산 바다", query), 1);
  EXPECT_DOUBLE_EQ(best_sentence_window("서울 하늘\n\n바다 구름\n \n부산 바다", query), 1);
  EXPECT_DOUBLE_EQ(best_sentence_window("서울 하늘。바다 구름？ 부산 바다", query), 2);  // 。 needs its space
  EXPECT_DOUBLE_EQ(best_sentence_window("서울 하늘。 바다 구름？ 부산 바다", query), 1);
  EXPECT_DOUBLE_EQ(best_sentence_window("“서울 하늘.” 바다 구름.) 부산 바다", query), 1);  // closing quotes
  // No space after the mark (3.14, a URL, 서울.부산): the sentence goes on.
  EXPECT_DOUBLE_EQ(best_sentence_window("서울 3.14 바다 구름.하늘 구름.부산", query), 2);
  // A single line break wraps a sentence; it does not end it.
  EXPECT_DOUBLE_EQ(best_sentence_window("서울 하늘\n바다 구름\n하늘 구름\n부산 바다", query), 2);
  EXPECT_DOUBLE_EQ(best_sentence_window("서울 하늘.\n바다 구름.\n부산 바다", query), 1);
  EXPECT_DOUBLE_EQ(best_sentence_window("서울 하늘.\r\n\r\n바다 구름.\u2029부산 바다", query), 1);
  EXPECT_DOUBLE_EQ(best_sentence_window("서울 하늘.\u2009바다 구름.\u3000부산 바다", query), 1);
  // A list marker is not a sentence of its own.
  EXPECT_DOUBLE_EQ(best_sentence_window("서울 하늘.\n2. 부산 바다.", query), 2);
  EXPECT_DOUBLE_EQ(best_sentence_window("1. 서울 하늘. 2. 부산 바다.", query), 2);
  EXPECT_DOUBLE_EQ(best_sentence_window("가. 서울 하늘. 나. 바다 구름. 다. 부산 바다.", query), 1);
}

TEST(Rescore, MatchesTheIndexsTermsIncludingStems) {
  // 서울에서 gives the bigrams 서울 울에 에서 and the stem ~서울, as lexical_tokens() does for the index.
  EXPECT_DOUBLE_EQ(best_sentence_window("서울에서 만나요.", {{"~서울", 0.5}, {"울에", 0.3}}), 0.8);
  EXPECT_DOUBLE_EQ(best_sentence_window("Galaxy S24의 출고가", {{"s24", 2}, {"galaxy", 1}}), 3);
}

TEST(Rescore, FileNameMatchReadsTheNameWithoutFolderOrExtension) {
  const TermWeights query = {{"사업", 1}, {"계획", 2}, {"2024", 4}, {"docs", 8}, {"hwp", 16}};
  EXPECT_DOUBLE_EQ(file_name_match("docs/2024년 사업계획서.hwp", query), 7);
  EXPECT_DOUBLE_EQ(file_name_match("docs/사업_계획.txt", query), 3);
  EXPECT_DOUBLE_EQ(file_name_match("docs\\2024.txt", query), 12);    // on POSIX a backslash is part of the name
  EXPECT_DOUBLE_EQ(file_name_match("사업 사업 사업.md", query), 1);  // each term once
  EXPECT_DOUBLE_EQ(file_name_match(".hwp", query), 16);              // a dot file's name is all of it
  EXPECT_DOUBLE_EQ(file_name_match("보고서.pdf", query), 0);
}

}  // namespace
}  // namespace ksearch
