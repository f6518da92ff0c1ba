#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "search/hybrid.h"

namespace ksearch {
namespace {

TEST(Fusion, ReciprocalRankFusion) {
  const std::vector<std::vector<std::int64_t>> lists = {{1, 2, 3}, {3, 4, 1}};
  const auto fused = reciprocal_rank_fusion(lists, 60);
  ASSERT_EQ(fused.size(), 4u);
  EXPECT_EQ(fused[0].id, 1);  // 1/61 + 1/63
  EXPECT_NEAR(fused[0].score, 1.0 / 61 + 1.0 / 63, 1e-12);
  EXPECT_EQ(fused[1].id, 3);  // 1/63 + 1/61, same score and best rank: the first list's best goes first
  EXPECT_EQ(fused[2].id, 2);
  EXPECT_EQ(fused[3].id, 4);
}

TEST(Fusion, EqualScoresAreNotOrderedById) {
  // 9 (first list, rank 1) and 2 (second list, rank 1) tie in score and best rank; ids (indexing history) must not
  // decide, the list does, and the same with the lists' ids swapped.
  const std::vector<std::vector<std::int64_t>> lists = {{9, 5}, {2, 7}};
  const auto fused = reciprocal_rank_fusion(lists, 60);
  ASSERT_EQ(fused.size(), 4u);
  EXPECT_EQ(fused[0].id, 9);
  EXPECT_EQ(fused[1].id, 2);
  EXPECT_EQ(fused[2].id, 5);
  EXPECT_EQ(fused[3].id, 7);
  const std::vector<std::vector<std::int64_t>> swapped = {{2, 7}, {9, 5}};
  EXPECT_EQ(reciprocal_rank_fusion(swapped, 60)[0].id, 2);
}

TEST(Fusion, WeightsScaleEachListAndZeroLeavesTheOtherListsOrder) {
  const std::vector<std::vector<std::int64_t>> lists = {{1, 2, 3}, {3, 2, 1}};
  const double dense_heavy[] = {1.0, 0.1};
  const auto weighted = reciprocal_rank_fusion(lists, 60, dense_heavy);
  EXPECT_EQ(weighted[0].id, 1);
  EXPECT_NEAR(weighted[0].score, 1.0 / 61 + 0.1 / 63, 1e-12);
  const double lexical_only[] = {0.0, 1.0};
  const auto second = reciprocal_rank_fusion(lists, 60, lexical_only);
  ASSERT_EQ(second.size(), 3u);
  EXPECT_EQ(second[0].id, 3);
  EXPECT_EQ(second[1].id, 2);
  EXPECT_EQ(second[2].id, 1);
}

}  // namespace
}  // namespace ksearch
