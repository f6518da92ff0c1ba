#include <sys/stat.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "base/error.h"
#include "base/files.h"
#include "search/fusion_calibration.h"
#include "search/highlight.h"
#include "search/hit_location.h"
#include "search/hybrid.h"
#include "search/indexer.h"
#include "search/last_search.h"
#include "search/searcher.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {
namespace fs = std::filesystem;

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
  if (fusion.weights.dense == 0) EXPECT_EQ(hybrid.results[0].chunk.id, lexical.results[0].chunk.id);
  search.calibrated_fusion = false;
  EXPECT_EQ(engine->search("비빔밥은 어떤 음식인가", search).results.size(), hybrid.results.size());

  // An unchanged folder keeps its fit; a new fit follows a change.
  EXPECT_TRUE(run_index(options).fusion.empty());
  EXPECT_THROW(fusion_calibration_from_json(Json{{"dense_weight", -1}}, "test"), Error);
}

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

ChunkRecord chunk_at(int line_begin, std::string text) {
  ChunkRecord chunk;
  chunk.path = "doc.txt";
  chunk.line_begin = line_begin;
  chunk.line_end = line_begin + static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  chunk.text = std::move(text);
  return chunk;
}

TEST(HitLocation, PicksTheLineWithTheMostQueryTerms) {
  const ChunkRecord chunk =
      chunk_at(248, "임대 안내\n시설 사용 시간은 9시부터\n체육관 대관 신청은 온라인으로 한다.\n기타 문의");
  // "대관" and "신청" both occur only on the third line (file line 250); the column is in bytes, 1-based.
  HitLocation hit = locate_hit(chunk, "체육관 대관 신청하려면");
  EXPECT_EQ(hit.line, 250);
  EXPECT_EQ(hit.column, 1);
  EXPECT_TRUE(hit.matched);
  EXPECT_EQ(hit.line_text, "체육관 대관 신청은 온라인으로 한다.");
  hit = locate_hit(chunk, "신청");
  EXPECT_EQ(hit.line, 250);
  EXPECT_EQ(hit.column, static_cast<int>(std::string("체육관 대관 ").size()) + 1);
  // A particle-attached query term matches by its bigrams.
  EXPECT_EQ(locate_hit(chunk, "시설에서").line, 249);
}

TEST(HitLocation, SemanticHitsPointAtTheChunkStart) {
  const HitLocation hit = locate_hit(chunk_at(7, "첫 줄\n둘째 줄"), "전혀 다른 질문");
  EXPECT_EQ(hit.line, 7);
  EXPECT_EQ(hit.column, 1);
  EXPECT_FALSE(hit.matched);
  EXPECT_EQ(hit.line_text, "첫 줄");
}

TEST(HitLocation, ColumnsCountThePartOfTheLineBeforeAMidLineChunk) {
  testing::TempDir dir;
  const std::string first = "앞 문장입니다. ";
  testing::write_text(dir / "doc.txt", "제목\n" + first + "뒷 문장에 핵심이 있다.\n끝\n");
  ChunkRecord chunk = chunk_at(2, "뒷 문장에 핵심이 있다.\n끝");
  chunk.ordinal = 1;
  chunk.byte_begin = static_cast<std::int64_t>(std::string("제목\n").size() + first.size());
  const std::size_t in_chunk = std::string("뒷 문장에 ").size();
  EXPECT_EQ(locate_hit(chunk, "핵심").column, static_cast<int>(in_chunk) + 1);
  const HitLocation hit = locate_hit_in_file(chunk, "핵심", dir.path());
  EXPECT_EQ(hit.line, 2);
  EXPECT_EQ(hit.column, static_cast<int>(first.size() + in_chunk) + 1);
  EXPECT_EQ(hit.line_text, first + "뒷 문장에 핵심이 있다.");
  // A file edited since indexing no longer holds the chunk there: the chunk-relative column stays.
  testing::write_text(dir / "doc.txt", "전혀 다른 내용\n");
  EXPECT_EQ(locate_hit_in_file(chunk, "핵심", dir.path()).column, static_cast<int>(in_chunk) + 1);
}

class SearchEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::write_text(dir / "docs" / "seoul.md", "# 서울\n\n서울특별시는 대한민국의 수도이다.\n\n한강이 흐른다.\n");
    testing::write_text(dir / "docs" / "busan.txt", "부산은 항구 도시이다.\n");
    testing::write_text(dir / "docs" / "notes" / "food.txt", "김치는 배추로 담근다.\n");
    options.folders = {dir / "docs"};
    options.model = testing::fixture("tiny-bge-m3-xlmr").string();
  }
  testing::TempDir dir;
  IndexOptions options;
};

TEST_F(SearchEngineTest, ModesFiltersAndUpdates) {
  const IndexSummary summary = run_index(options);
  EXPECT_EQ(summary.indexed, 3u);
  EXPECT_EQ(summary.index_spec, "Flat");
  const auto location = IndexLocation::for_folder(dir / "docs");
  auto engine = SearchEngine::open(location);
  ASSERT_TRUE(engine->has_model());

  SearchOptions search;
  search.mode = SearchMode::Lexical;
  auto response = engine->search("서울에서", search);
  ASSERT_FALSE(response.results.empty());
  EXPECT_EQ(response.results[0].chunk.path, "seoul.md");
  EXPECT_EQ(response.score_kind, "bm25");

  search.mode = SearchMode::Dense;
  response = engine->search("김치는 배추로 담근다.", search);
  ASSERT_EQ(response.results.size(), 3u);
  EXPECT_EQ(response.results[0].chunk.path, "notes/food.txt");  // identical text: cosine ~1 with the same model
  EXPECT_NEAR(response.results[0].score, 1.0, 0.05);

  search.mode = SearchMode::Auto;
  response = engine->search("부산 항구", search);
  EXPECT_EQ(response.mode, SearchMode::Hybrid);
  EXPECT_EQ(response.results[0].chunk.path, "busan.txt");
  // Each hit knows its place in the lists that were fused (the keyword list holds busan.txt alone).
  EXPECT_EQ(response.results[0].lexical_rank, 1u);
  EXPECT_TRUE(response.results[0].dense_rank.has_value());
  for (std::size_t i = 1; i < response.results.size(); ++i) EXPECT_FALSE(response.results[i].lexical_rank);
  std::set<std::size_t> dense_ranks;
  for (const auto& hit : response.results) dense_ranks.insert(hit.dense_rank.value_or(0));
  EXPECT_EQ(dense_ranks, (std::set<std::size_t>{1, 2, 3}));

  search.extensions = {"txt"};
  search.path_glob = "notes/";
  response = engine->search("부산 김치", search);
  ASSERT_EQ(response.results.size(), 1u);
  EXPECT_EQ(response.results[0].chunk.path, "notes/food.txt");
  EXPECT_EQ(response.results[0].dense_rank, 1u);  // ranks count only what passed the filters
  EXPECT_EQ(response.results[0].lexical_rank, 1u);

  // A committed change is picked up by refresh() without reopening.
  testing::write_text(dir / "docs" / "jeju.txt", "제주도는 화산섬이다.\n");
  fs::remove(dir / "docs" / "busan.txt");
  options.folders.clear();
  options.db_dir = location.dir;
  const IndexSummary update = run_index(options);
  EXPECT_EQ(update.indexed, 1u);
  EXPECT_EQ(update.removed, 1u);
  EXPECT_EQ(update.unchanged, 2u);
  EXPECT_TRUE(engine->refresh());
  SearchOptions dense;
  dense.mode = SearchMode::Dense;
  dense.k = 10;
  response = engine->search("제주도는 화산섬이다.", dense);
  EXPECT_EQ(response.results[0].chunk.path, "jeju.txt");
  for (const auto& hit : response.results) EXPECT_NE(hit.chunk.path, "busan.txt");
}

TEST_F(SearchEngineTest, StaleOrDamagedVectorFileIsRebuiltFromTheDatabase) {
  run_index(options);
  const auto location = IndexLocation::for_folder(dir / "docs");
  testing::write_text(location.vectors(), "garbage");
  auto engine = SearchEngine::open(location);
  EXPECT_NE(engine->notice().find("rebuilt"), std::string::npos) << engine->notice();
  SearchOptions dense;
  dense.mode = SearchMode::Dense;
  EXPECT_EQ(engine->search("부산은 항구 도시이다.", dense).results[0].chunk.path, "busan.txt");
}

TEST_F(SearchEngineTest, LexicalOnlyIndexAndModelMismatch) {
  options.model.reset();
  options.no_model = true;
  run_index(options);
  const auto location = IndexLocation::for_folder(dir / "docs");
  auto engine = SearchEngine::open(location);
  EXPECT_FALSE(engine->has_model());
  SearchOptions search;
  EXPECT_EQ(engine->search("한강", search).mode, SearchMode::Lexical);
  search.mode = SearchMode::Dense;
  EXPECT_THROW(engine->search("한강", search), Error);

  // Changing the model of an existing index needs --rebuild.
  options.no_model = false;
  options.model = testing::fixture("tiny-e5-bert").string();
  try {
    run_index(options);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--rebuild"), std::string::npos);
  }
  options.rebuild = true;
  EXPECT_EQ(run_index(options).indexed, 3u);
}

// Review finding: the excerpt of an indexed file (the search page's context view, MCP `get`) is read as the indexer
// reads files, so a symbolic link or a device swapped in after indexing leads nowhere.
TEST_F(SearchEngineTest, ExcerptsReadOnlyRegularFilesInsideTheIndexedFolders) {
  options.model.reset();
  options.no_model = true;
  run_index(options);
  auto engine = SearchEngine::open(IndexLocation::for_folder(dir / "docs"));
  EXPECT_EQ(engine->excerpt("busan.txt", 1, 1, 0).lines.at(0).text, "부산은 항구 도시이다.");
  testing::write_text(dir / "secret.txt", "비밀\n");
  std::filesystem::remove(dir / "docs" / "busan.txt");
  std::filesystem::create_symlink(dir / "secret.txt", dir / "docs" / "busan.txt");
  EXPECT_THROW(engine->excerpt("busan.txt", 1, 1, 0), Error) << "a link out of the indexed folder";
  std::filesystem::remove(dir / "docs" / "busan.txt");
  std::filesystem::create_symlink("/dev/zero", dir / "docs" / "busan.txt");
  EXPECT_THROW(engine->excerpt("busan.txt", 1, 1, 0), Error) << "a device";
  std::filesystem::remove(dir / "docs" / "busan.txt");
  ASSERT_EQ(mkfifo((dir / "docs" / "busan.txt").c_str(), 0600), 0);
  EXPECT_THROW(engine->excerpt("busan.txt", 1, 1, 0), Error) << "a FIFO must not block the reader";
  // A link inside the indexed folder is still read.
  std::filesystem::remove(dir / "docs" / "busan.txt");
  std::filesystem::create_symlink(dir / "docs" / "notes" / "food.txt", dir / "docs" / "busan.txt");
  EXPECT_EQ(engine->excerpt("busan.txt", 1, 1, 0).lines.at(0).text, "김치는 배추로 담근다.");
}

TEST_F(SearchEngineTest, ConcurrentWriterFailsFastNamingThePid) {
  const auto location = IndexLocation::for_folder(dir / "docs");
  IndexLock held(location, false);
  try {
    run_index(options);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("locked by PID " + std::to_string(getpid())), std::string::npos) << e.what();
  }
}

TEST(LastSearch, RoundTripsAndNamesTheResultAsked) {
  testing::TempDir dir;
  const IndexLocation location = IndexLocation::at(dir / ".ksearch");
  fs::create_directories(location.dir);
  EXPECT_THROW(
      {
        try {
          load_last_search(location);
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("no search to open yet"), std::string::npos) << e.what();
          throw;
        }
      },
      Error);
  SearchResponse response;
  for (int i = 1; i <= 3; ++i) {
    SearchHit hit;
    hit.chunk.path = cat("공지/", i, ".pdf");
    hit.chunk.line_begin = i;
    hit.chunk.line_end = i + 2;
    hit.chunk.page = i;
    hit.chunk.text = cat("본문 ", i);
    response.results.push_back(hit);
  }
  save_last_search(location, "체육관 대여", response);
  const LastSearch last = load_last_search(location);
  EXPECT_EQ(last.query, "체육관 대여");
  ASSERT_EQ(last.results.size(), 3u);
  EXPECT_EQ(last.result(2).path, "공지/2.pdf");
  EXPECT_EQ(last.result(3).page, 3);
  EXPECT_EQ(last.result(3).text, "본문 3");
  for (long long n : {0LL, 4LL, -1LL}) {
    try {
      last.result(n);
      ADD_FAILURE() << n;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()),
                cat("result ", n, " does not exist: the last search (체육관 대여) has results 1 to 3"));
    }
  }
  // Nothing else is left in the folder (the temp file was renamed into place).
  EXPECT_EQ(std::distance(fs::directory_iterator(location.dir), fs::directory_iterator()), 1);
}

TEST(LastSearch, ADamagedFileIsAnErrorNamingItAndTheField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "f.json: invalid JSON"},
      {"[]", "f.json: expected a JSON object"},
      {R"({"version": 2, "query": "q", "results": []})", "f.json: format version 2 (this ksearch reads 1)"},
      {R"({"version": 1, "results": []})", "f.json: missing field 'query'"},
      {R"({"version": 1, "query": "q", "results": {}})", "f.json: field 'results' must be an array"},
      {R"({"version": 1, "query": "q", "results": [{"path": "a", "line_begin": 1, "line_end": 1, "page": 0}]})",
       "f.json: results[0]: missing field 'text'"},
      {R"({"version": 1, "query": "q", "results": [{"path": "a", "line_begin": 5, "line_end": 2, "page": 0,
           "text": ""}]})",
       "f.json: results[0]: path 'a', lines 5-2, page 0 are not a result's"},
      {R"({"version": 1, "query": "q", "results": [{"path": "", "line_begin": 1, "line_end": 1, "page": 0,
           "text": ""}]})",
       "are not a result's"},
  };
  for (const auto& [text, expected] : cases) {
    try {
      parse_last_search(text, "f.json");
      ADD_FAILURE() << text;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << text << " -> " << e.what();
    }
  }
  EXPECT_THROW(parse_last_search(R"({"version": 1, "query": "q", "results": []})", "f.json").result(1), Error);
}

}  // namespace
}  // namespace ksearch
