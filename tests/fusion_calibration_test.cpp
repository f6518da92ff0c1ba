#include <gtest/gtest.h>

#include <filesystem>

#include "base/error.h"
#include "search/fusion_calibration.h"
#include "search/indexer.h"
#include "search/searcher.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {
namespace fs = std::filesystem;

TEST(FusionCalibration, RandomWeightModelGetsASmallDenseWeightAndSaysSo) {
  testing::TempDir dir;
  IndexOptions options;
  options.folders = {fs::path(KSEARCH_SOURCE_DIR) / "examples" / "docs"};
  options.db_dir = dir / "index";
  options.model = testing::fixture("tiny-e5-bert").string();
  options.chunk_tokens = 64;  // more chunks, more pseudo-queries
  const IndexSummary summary = run_index(options);
  EXPECT_NE(summary.fusion.find("dense leg weak on this corpus"), std::string::npos) << summary.fusion;
  const auto engine = SearchEngine::open(summary.location);
  const FusionCalibration fusion = engine->fusion();
  EXPECT_GE(fusion.fit_queries, 20u);
  EXPECT_LT(fusion.weights.dense, fusion.weights.lexical);
  // Random weights still see shared tokens (a pseudo-query is a sentence of its answer), but less well than BM25.
  EXPECT_GT(fusion.lexical.mrr_at_10, fusion.dense.mrr_at_10);
  EXPECT_GE(fusion.fused.mrr_at_10, fusion.plain_rrf.mrr_at_10);
  EXPECT_EQ(describe_fusion(fusion), summary.fusion);
  const Json saved = fusion_calibration_json(fusion);
  EXPECT_EQ(fusion_calibration_json(fusion_calibration_from_json(saved, "test")), saved);

  // Hybrid follows the fitted weights unless plain RRF is asked for.
  SearchOptions search;
  search.mode = SearchMode::Lexical;
  const auto lexical = engine->search("비빔밥은 어떤 음식인가", search);
  search.mode = SearchMode::Hybrid;
  const auto hybrid = engine->search("비빔밥은 어떤 음식인가", search);
  ASSERT_FALSE(lexical.results.empty());
  if (fusion.weights.dense == 0) {
    EXPECT_EQ(hybrid.results[0].chunk.id, lexical.results[0].chunk.id);
  }
  // Plain RRF scores a hit 1/(rrf_k + rank) in each list that holds it, whatever weights were fitted.
  search.calibrated_fusion = false;
  const auto plain = engine->search("비빔밥은 어떤 음식인가", search);
  ASSERT_FALSE(plain.results.empty());
  for (const SearchHit& hit : plain.results) {
    double expected = 0;
    if (hit.dense_rank) expected += 1.0 / (search.rrf_k + static_cast<double>(*hit.dense_rank));
    if (hit.lexical_rank) expected += 1.0 / (search.rrf_k + static_cast<double>(*hit.lexical_rank));
    EXPECT_NEAR(hit.score, expected, 1e-12) << hit.chunk.path;
  }

  // An unchanged folder keeps its fit; a new fit follows a change.
  EXPECT_TRUE(run_index(options).fusion.empty());
  EXPECT_THROW(fusion_calibration_from_json(Json{{"dense_weight", -1}}, "test"), Error);
}

}  // namespace
}  // namespace ksearch
