#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <utility>
#include <vector>

#include "base/error.h"
#include "search/fusion_calibration.h"
#include "search/index_status.h"
#include "search/indexer.h"
#include "search/searcher.h"
#include "store/chunk_store.h"
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
  // Every field of the wrong type is an Error naming it, which search and status turn into plain RRF and a notice.
  for (const auto& [damaged, field] :
       std::vector<std::pair<Json, std::string>>{{Json{{"fit_queries", "x"}}, "fit_queries"},
                                                 {Json{{"heldout_queries", -3}}, "heldout_queries"},
                                                 {Json{{"dense", 5}}, "dense"},
                                                 {Json{{"fused", {{"recall@10", "high"}}}}, "fused.recall@10"},
                                                 {Json{{"by_hand", "yes"}}, "by_hand"}}) {
    try {
      fusion_calibration_from_json(damaged, "test");
      ADD_FAILURE() << damaged.dump() << " was read";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("field " + field + " is not"), std::string::npos) << e.what();
    }
  }
}

// A user who knows better (a strong model the pseudo-queries under-rate) sets the weights; index runs that change
// the chunks keep them, and `ksearch calibrate` without weights fits new ones.
TEST(FusionCalibration, WeightsSetByHandStayUntilTheNextFit) {
  testing::TempDir dir;
  fs::copy(fs::path(KSEARCH_SOURCE_DIR) / "examples" / "docs", dir / "docs", fs::copy_options::recursive);
  IndexOptions options;
  options.folders = {dir / "docs"};
  options.db_dir = dir / "index";
  options.model = testing::fixture("tiny-e5-bert").string();
  options.chunk_tokens = 64;
  const IndexLocation location = run_index(options).location;

  const FusionCalibration set = calibrate_index(location, Precision::Fp32, false, FusionWeights{0.5, 1.0});
  EXPECT_TRUE(set.by_hand);
  EXPECT_EQ(describe_fusion(set),
            "fusion: dense 0.50, lexical 1.00 (set by hand; `ksearch calibrate` fits them to "
            "the index again)");
  testing::write_text(dir / "docs" / "new.txt", "대구는 사과로 유명한 도시이다. 여름에는 매우 덥다.\n");
  EXPECT_EQ(run_index(options).fusion, describe_fusion(set)) << "a run that changed the chunks keeps them";
  IndexOptions rebuild = options;
  rebuild.rebuild = true;
  EXPECT_EQ(run_index(rebuild).fusion, describe_fusion(set)) << "so does a rebuild for the same model";
  FusionCalibration in_use = SearchEngine::open(location)->fusion();
  EXPECT_TRUE(in_use.by_hand);
  EXPECT_EQ(in_use.weights.dense, 0.5);
  EXPECT_EQ(in_use.weights.lexical, 1.0);

  for (const FusionWeights weights :
       {FusionWeights{-1, 1}, FusionWeights{0, 0}, FusionWeights{INFINITY, 1}, FusionWeights{1, NAN}}) {
    try {
      calibrate_index(location, Precision::Fp32, false, weights);
      ADD_FAILURE() << "weights " << weights.dense << ", " << weights.lexical << " were accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("not usable"), std::string::npos) << e.what();
    }
  }
  EXPECT_TRUE(SearchEngine::open(location)->fusion().by_hand) << "refused weights leave the set ones";

  const FusionCalibration fitted = calibrate_index(location, Precision::Fp32, false);
  EXPECT_FALSE(fitted.by_hand);
  EXPECT_GT(fitted.fit_queries, 0u);
  in_use = SearchEngine::open(location)->fusion();
  EXPECT_FALSE(in_use.by_hand);
  EXPECT_EQ(in_use.weights.dense, fitted.weights.dense);

  // A damaged saved fusion leaves search on plain RRF with a notice naming the field, and is fitted again.
  ChunkStore(location.database(), true).save_fusion_calibration(R"({"dense_weight":null,"lexical_weight":1})");
  const auto damaged = SearchEngine::open(location);
  EXPECT_NE(damaged->notice().find("dense_weight is not a number"), std::string::npos) << damaged->notice();
  EXPECT_FALSE(damaged->fusion().in_effect());
  const IndexStatus status = read_index_status(location, false);  // status reads it too, and says so
  EXPECT_NE(status.fusion_problem.find("dense_weight is not a number"), std::string::npos) << status.fusion_problem;
  EXPECT_NE(describe_index_fusion(status).find("ksearch calibrate"), std::string::npos);
  EXPECT_TRUE(index_status_json(status)["fusion"].is_null());
  EXPECT_GT(calibrate_index(location, Precision::Fp32, false).fit_queries, 0u);
  EXPECT_TRUE(SearchEngine::open(location)->notice().empty());
}

}  // namespace
}  // namespace ksearch
