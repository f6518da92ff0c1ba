#include <gtest/gtest.h>

#include <cmath>

#include "base/error.h"
#include "store/chunk_store.h"
#include "store/lexical.h"
#include "tests/test_support.h"

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
  EXPECT_EQ(lexical_query("1443년에").expression, "\"1443\" OR \"년에\" OR \"~년\"");
  EXPECT_EQ(texts("S24의"), (std::vector<std::string>{"s24", "의", "~의"}));  // documents keep them
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
  IndexSettings settings;
  settings.model_id = "m";
  settings.dimension = 2;
  store.save_settings(settings);
  // 5 terms (서울 ~서울 이야 야기 ~이야기) and 4 (부산 ~부산 twice): "서울" is in 1 of 2 chunks of 4.5 terms.
  std::vector<FileUpdate> update = {file_with_chunks("a.txt", {"서울 이야기", "부산 부산"}, 2)};
  store.replace_files(update, 2);
  const auto score = [&](std::vector<TermKind> kinds) {
    const auto hits = store.lexical_search({"\"서울\"", {1.0}, std::move(kinds)}, 10);
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

TEST(ChunkStore, EqualLexicalScoresGoInPathOrderNotIdOrder) {
  testing::TempDir dir;
  ChunkStore store(dir / "index.db", true);
  IndexSettings settings;
  settings.model_id = "m";
  settings.dimension = 2;
  store.save_settings(settings);
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
