#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "base/error.h"
#include "search/index_location.h"
#include "search/indexer.h"
#include "search/searcher.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {
namespace fs = std::filesystem;

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

}  // namespace
}  // namespace ksearch
