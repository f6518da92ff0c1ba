#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "base/error.h"
#include "store/chunk_store.h"
#include "store/lexical.h"
#include "store/rescore.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {

FileUpdate file_with_chunks(const std::string& path, const std::vector<std::string>& chunk_texts, int dimension) {
  FileUpdate update;
  update.file.path = path;
  update.file.size = 10;
  update.file.mtime_ns = 1;
  update.file.hash = "h-" + path;
  update.file.status = FileStatus::Indexed;
  for (std::size_t i = 0; i < chunk_texts.size(); ++i) {
    ChunkRecord chunk;
    chunk.ordinal = static_cast<int>(i);
    chunk.text = chunk_texts[i];
    chunk.line_begin = chunk.line_end = static_cast<int>(i + 1);
    update.chunks.push_back(chunk);
    for (int d = 0; d < dimension; ++d) update.embeddings.push_back(static_cast<float>(i + d));
  }
  return update;
}

void save_two_dimension_settings(ChunkStore& store) {
  IndexSettings settings;
  settings.model_id = "m";
  settings.dimension = 2;
  store.save_settings(settings);
}

TEST(ChunkStore, ReplaceSearchRemoveAndGenerations) {
  testing::TempDir dir;
  ChunkStore store(dir / "index.db", true);
  EXPECT_FALSE(store.has_settings());
  IndexSettings settings;
  settings.model_id = "m";
  settings.dimension = 2;
  settings.roots = {"", "docs"};
  store.save_settings(settings);
  EXPECT_EQ(store.settings().roots, settings.roots);
  EXPECT_EQ(store.generation(), 0u);

  std::vector<FileUpdate> updates = {file_with_chunks("a.txt", {"서울에서 만나요", "부산은 항구 도시"}, 2),
                                     file_with_chunks("b.txt", {"Seoul is the capital"}, 2)};
  store.replace_files(updates, 2);
  EXPECT_EQ(store.generation(), 1u);
  auto counts = store.counts();
  EXPECT_EQ(counts.files, 2);
  EXPECT_EQ(counts.chunks, 3);
  EXPECT_EQ(counts.vectors, 3);

  // Particle-attached text matches the bare noun.
  auto hits = store.lexical_search(lexical_query("서울"), 10);
  ASSERT_EQ(hits.size(), 1u);
  const auto chunk = store.chunks(std::vector<std::int64_t>{hits[0].chunk_id});
  ASSERT_EQ(chunk.size(), 1u);
  EXPECT_EQ(chunk[0].path, "a.txt");
  EXPECT_GT(hits[0].score, 0);
  EXPECT_EQ(store.lexical_search(lexical_query("capital"), 10).size(), 1u);

  std::size_t seen = 0;
  store.for_each_vector(
      0, 2,
      [&](auto ids, auto vectors) {
        seen += ids.size();
        EXPECT_EQ(vectors.size(), ids.size() * 2);
      },
      2);
  EXPECT_EQ(seen, 3u);

  // Re-indexing a file replaces its chunks: old vectors are logged as removed under the new generation.
  const auto old_ids = [&] {
    std::vector<std::int64_t> ids;
    for (const auto& c : store.chunks_of_file(store.find_file("a.txt")->id)) ids.push_back(c.id);
    return ids;
  }();
  updates = {file_with_chunks("a.txt", {"서울 이야기"}, 2)};
  store.replace_files(updates, 2);
  EXPECT_EQ(store.generation(), 2u);
  auto removed = store.removed_since(1);
  std::sort(removed.begin(), removed.end());
  EXPECT_EQ(removed, old_ids);
  EXPECT_TRUE(store.lexical_search(lexical_query("부산"), 10).empty());  // FTS follows deletes

  EXPECT_EQ(store.remove_files(std::vector<std::string>{"b.txt", "missing.txt"}), 1u);
  counts = store.counts();
  EXPECT_EQ(counts.files, 1);
  EXPECT_EQ(counts.chunks, 1);
  EXPECT_EQ(counts.vectors, 1);
  EXPECT_EQ(store.removed_since(2).size(), 1u);
  store.prune_removals(3);
  EXPECT_TRUE(store.removed_since(0).empty());
  std::vector<std::string> notes;
  EXPECT_TRUE(store.integrity_problems(notes).empty());
  EXPECT_TRUE(notes.empty());
  EXPECT_EQ(store.chunks_without_vectors(), 0);
}

TEST(ChunkStore, LexicalSearchScoresEachKindOfTermWithItsOwnParameters) {
  testing::TempDir dir;
  ChunkStore store(dir / "index.db", true);
  save_two_dimension_settings(store);
  // 5 terms (서울 ~서울 이야 야기 ~이야기) and 4 (부산 ~부산 twice): "서울" is in 1 of 2 chunks of 4.5 terms.
  std::vector<FileUpdate> update = {file_with_chunks("a.txt", {"서울 이야기", "부산 부산"}, 2)};
  store.replace_files(update, 2);
  const auto score = [&](std::vector<TermKind> kinds) {
    const auto hits = store.lexical_search({"\"서울\"", {1.0}, std::move(kinds), {}}, 10);
    EXPECT_EQ(hits.size(), 1u);
    return hits.empty() ? 0.0 : hits[0].score;
  };
  const auto bm25 = [](double k1, double b) { return std::log(2.0) * (k1 + 1) / (1 + k1 * (1 - b + b * 5 / 4.5)); };
  for (TermKind kind : {TermKind::Bigram, TermKind::Word, TermKind::Stem}) {
    const Bm25Parameters parameters = bm25_parameters(kind);
    EXPECT_NEAR(score({kind}), bm25(parameters.k1, parameters.b), 1e-6);
  }
  EXPECT_NE(score({TermKind::Bigram}), score({TermKind::Stem}));
  EXPECT_NEAR(score({}), bm25(0.4, 0.4), 1e-6);  // without kinds, the function's own k1 and b
}
// A keyword index of files of one chunk each.
class RescoredStore : public ::testing::Test {
 protected:
  void index(const std::vector<std::pair<std::string, std::string>>& files) {
    save_two_dimension_settings(store);
    std::vector<FileUpdate> update;
    for (const auto& [path, text] : files) update.push_back(file_with_chunks(path, {text}, 2));
    store.replace_files(update, 2);
  }
  std::string path_of(const LexicalHit& hit) const {
    return store.chunks(std::vector<std::int64_t>{hit.chunk_id}).at(0).path;
  }

  testing::TempDir dir;
  ChunkStore store{dir / "index.db", true};
};

TEST_F(RescoredStore, AChunkThatStatesTheQueryInOnePlaceOutranksOneThatScattersIt) {
  // The same words, so the same BM25; a.txt comes first in path order but holds 서울 and 항구 three sentences apart.
  index({{"a.txt", "서울 하늘. 바다 구름. 하늘 구름. 항구 바다."},
         {"b.txt", "서울 항구. 바다 구름. 하늘 구름. 하늘 바다."},
         {"c.txt", "제주 바다. 하늘 구름."}});
  const LexicalQuery query = lexical_query("서울 항구");
  const auto hits = store.lexical_search(query, 10);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(path_of(hits[0]), "b.txt");
  EXPECT_EQ(path_of(hits[1]), "a.txt");
  EXPECT_GT(hits[0].score, hits[1].score);
  // With a limit of one, the chunk the bonus lifts is still found, though BM25 alone ranks it second.
  const auto best = store.lexical_search(query, 1);
  ASSERT_EQ(best.size(), 1u);
  EXPECT_EQ(path_of(best[0]), "b.txt");
  // Without the query's terms (a hand-made query), no bonus: equal scores in path order.
  LexicalQuery bare = query;
  bare.terms.clear();
  const auto plain = store.lexical_search(bare, 10);
  ASSERT_EQ(plain.size(), 2u);
  EXPECT_EQ(path_of(plain[0]), "a.txt");
  EXPECT_DOUBLE_EQ(plain[0].score, plain[1].score);
}

TEST_F(RescoredStore, AddsTheWeightedIdfOfTheTermsInTheBestWindowAndTheFileName) {
  // 서울 is in 2 of the 4 chunks, 항구 in 1; 항구.txt holds 항구 in its name only.
  index({{"a.txt", "서울 항구. 바다 구름. 하늘 구름. 부산 바다."},
         {"항구.txt", "서울 하늘."},
         {"c.txt", "제주 바다."},
         {"d.txt", "광주 하늘."}});
  const auto scores = [&](const LexicalQuery& query) {
    std::map<std::string, double> out;
    for (const LexicalHit& hit : store.lexical_search(query, 10)) out[path_of(hit)] = hit.score;
    return out;
  };
  const LexicalQuery query = lexical_query("서울 항구");  // 서울 ~서울 항구 ~항구: bigrams weigh 1, stems 0.5
  LexicalQuery bare = query;
  bare.terms.clear();  // a hand-made query: BM25 alone
  const auto with = scores(query), without = scores(bare);
  ASSERT_EQ(with.size(), 2u);
  ASSERT_EQ(without.size(), 2u);
  const auto idf = [](double hits) { return std::log(1 + (4 - hits + 0.5) / (hits + 0.5)); };
  EXPECT_NEAR(with.at("a.txt") - without.at("a.txt"), kSentenceWindowWeight * 1.5 * (idf(2) + idf(1)), 1e-9);
  EXPECT_NEAR(with.at("항구.txt") - without.at("항구.txt"),
              kSentenceWindowWeight * 1.5 * idf(2) + kFileNameWeight * 1.5 * idf(1), 1e-9);
}

TEST(ChunkStore, EqualLexicalScoresGoInPathOrderNotIdOrder) {
  testing::TempDir dir;
  ChunkStore store(dir / "index.db", true);
  save_two_dimension_settings(store);
  // Indexed in reverse path order, so chunk ids run against the paths; the same text scores the same everywhere.
  for (const char* path : {"d.txt", "c.txt", "b.txt", "a.txt"}) {
    std::vector<FileUpdate> update = {file_with_chunks(path, {"서울 이야기", "서울 이야기"}, 2)};
    store.replace_files(update, 2);
  }
  std::vector<FileUpdate> better = {file_with_chunks("z.txt", {"서울 서울 서울"}, 2)};
  store.replace_files(better, 2);
  const auto order = [&](std::size_t limit) {
    std::vector<std::string> out;
    for (const auto& hit : store.lexical_search(lexical_query("서울"), limit)) {
      const auto chunk = store.chunks(std::vector<std::int64_t>{hit.chunk_id});
      out.push_back(chunk.at(0).path + "#" + std::to_string(chunk.at(0).ordinal));
    }
    return out;
  };
  // The cut at `limit` falls among equal scores: the earliest paths are the ones kept.
  EXPECT_EQ(order(4), (std::vector<std::string>{"z.txt#0", "a.txt#0", "a.txt#1", "b.txt#0"}));
  EXPECT_EQ(order(20).size(), 9u);
  EXPECT_EQ(order(20).back(), "d.txt#1");
  EXPECT_TRUE(order(0).empty());
}

TEST(ChunkStore, FileStatusIsStoredByNameAndAnUnknownOneIsAnError) {
  testing::TempDir dir;
  {
    ChunkStore store(dir / "index.db", true);
    FileUpdate update = file_with_chunks("a.txt", {"가"}, 0);
    update.file.status = FileStatus::Skipped;
    update.file.reason = "binary file";
    store.replace_files(std::span(&update, 1), 0);
    EXPECT_EQ(store.find_file("a.txt")->status, FileStatus::Skipped);
    EXPECT_EQ(store.counts().skipped_files, 1);
  }
  sql::Database(dir / "index.db", sql::Database::Mode::ReadWrite).exec("UPDATE files SET status = 'weird'");
  const ChunkStore store(dir / "index.db", false);
  try {
    store.files();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("files.status: unknown file status 'weird'"), std::string::npos) << e.what();
  }
}

TEST(ChunkStore, RefusesOtherFormatsAndForeignFiles) {
  testing::TempDir dir;
  { ChunkStore created(dir / "index.db", true); }
  sql::Database(dir / "index.db", sql::Database::Mode::ReadWrite)
      .exec("UPDATE meta SET value = '99' WHERE key = 'format_version'");
  try {
    ChunkStore store(dir / "index.db", false);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("format version '99'"), std::string::npos);
  }
  testing::write_text(dir / "garbage.db", std::string(4096, 'x'));
  EXPECT_THROW(ChunkStore(dir / "garbage.db", false), Error);
  EXPECT_THROW(ChunkStore(dir / "none.db", false), Error);
}

TEST(ChunkStore, KeywordIndexOfAnotherTokenizerVersionIsRefusedForReadingAndRebuiltByAWriter) {
  testing::TempDir dir;
  {
    ChunkStore store(dir / "index.db", true);
    const FileUpdate update = file_with_chunks("seoul.txt", {"서울에서 만나요"}, 0);
    store.replace_files(std::span(&update, 1), 0);
  }
  // What an index from before tokenizer versions looks like: version 1's terms, no version recorded.
  sql::Database(dir / "index.db", sql::Database::Mode::ReadWrite)
      .exec("DELETE FROM meta WHERE key = 'lexical_tokenizer'");
  try {
    ChunkStore store(dir / "index.db", false);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("lexical tokenizer version 1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("ksearch index"), std::string::npos) << e.what();
  }
  {
    ChunkStore store(dir / "index.db", true);
    EXPECT_EQ(store.rebuilt_lexical_from(), 1);
    EXPECT_EQ(store.lexical_search(lexical_query("서울은"), 10).size(), 1u);
    std::vector<std::string> notes;
    EXPECT_TRUE(store.integrity_problems(notes).empty());
  }
  ChunkStore reader(dir / "index.db", false);
  EXPECT_EQ(reader.rebuilt_lexical_from(), 0);
  EXPECT_EQ(reader.lexical_search(lexical_query("만나요"), 10).size(), 1u);
}

TEST(ChunkStore, NfdDocumentMatchesNfcQuery) {
  testing::TempDir dir;
  ChunkStore store(dir / "index.db", true);
  const FileUpdate update = file_with_chunks("mac.txt", {"\u1109\u1165\u110B\u116E\u11AF\u110B\u1166\u1109\u1165"}, 0);
  store.replace_files(std::span(&update, 1), 0);
  EXPECT_EQ(store.lexical_search(lexical_query("서울"), 10).size(), 1u);
}

}  // namespace
}  // namespace ksearch
