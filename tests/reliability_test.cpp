// Reliability of the index and of requests (issue #35): each test reproduces one attack of the red team, bounded in
// time and memory, and checks what ksearch does now.  docs/reliability.md describes the findings.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "base/error.h"
#include "base/files.h"
#include "search/doctor.h"
#include "search/indexer.h"
#include "search/searcher.h"
#include "search/vector_sync.h"
#include "store/chunk_store.h"
#include "store/fts.h"
#include "store/lexical.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string kModel = testing::fixture("tiny-bge-m3-xlmr").string();

// A text of `sentences` distinct Korean sentences about `topic`.
std::string text_about(const std::string& topic, int sentences) {
  std::string text;
  for (int i = 0; i < sentences; ++i)
    text += topic + " 문서의 " + std::to_string(i) + "번째 문장은 " + topic + "에 관한 이야기다.\n";
  return text;
}

IndexOptions index_options(const fs::path& folder, bool with_model) {
  IndexOptions options;
  options.folders = {folder};
  if (with_model)
    options.model = kModel;
  else
    options.no_model = true;
  options.chunk_tokens = 64;
  return options;
}

std::set<std::string> chunk_texts(const fs::path& database) {
  const ChunkStore store(database, false, sql::Database::Mode::ReadOnly);
  std::set<std::string> out;
  for (const auto& file : store.files())
    for (const auto& chunk : store.chunks_of_file(file.id))
      out.insert(file.path + "#" + std::to_string(chunk.ordinal) + "#" + chunk.text);
  return out;
}

// Runs a shell command line; returns its exit status.
int shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

std::string shell_quoted(const fs::path& path) { return "'" + path.string() + "'"; }

// Finding 3: index.db rolled back to a backup, then a run that commits the same generation number again and is
// killed before it saves vectors.  The old vector file must not pass for current.
TEST(Reliability, VectorFileFromALostHistoryIsRefused) {
  testing::TempDir dir;
  const fs::path docs = dir / "docs";
  testing::write_text(docs / "seoul.txt", text_about("서울", 3));
  IndexOptions options = index_options(docs, true);
  run_index(options);
  const IndexLocation location = IndexLocation::for_folder(docs);
  fs::copy_file(location.database(), dir / "backup.db");  // the run closed the database: no WAL beside it

  testing::write_text(docs / "busan.txt", text_about("부산", 3));
  run_index(options);  // vectors.faiss now reflects a later generation, with busan.txt
  const std::uint64_t saved = ChunkStore(location.database(), false).generation();

  fs::copy_file(dir / "backup.db", location.database(), fs::copy_options::overwrite_existing);
  {
    // A run on the restored database reaches the same generation with other content, and dies before saving.
    ChunkStore store(location.database(), false);
    std::vector<FileUpdate> updates(1);
    updates[0].file = {0, "jeju.txt", 1, 1, "hash", FileStatus::Indexed, "", 1, 0, 0};
    updates[0].chunks = {{0, 0, "jeju.txt", 0, 0, 1, 1, 1, 0, 1, "제주"}};
    updates[0].embeddings.assign(static_cast<std::size_t>(store.settings().dimension), 0.1f);
    while (store.generation() < saved) store.replace_files(updates, store.settings().dimension);
    ASSERT_EQ(store.generation(), saved);
  }
  const ChunkStore store(location.database(), false, sql::Database::Mode::ReadOnly);
  const VectorState state = load_vectors(store, location, store.settings().dimension);
  EXPECT_NE(state.note.find("does not belong"), std::string::npos) << state.note;
  EXPECT_EQ(state.index->size(), store.counts().vectors);  // rebuilt from the database

  const DoctorReport report = run_doctor(location, {});
  EXPECT_FALSE(report.healthy_after);
  ASSERT_FALSE(report.problems.empty());
  EXPECT_NE(report.problems[0].find("does not belong"), std::string::npos) << report.problems[0];
  EXPECT_TRUE(run_doctor(location, {.repair = true}).healthy_after);
  EXPECT_TRUE(run_doctor(location, {}).healthy_after);
}

// Finding 3: doctor compares sampled stored vectors with the file's.
TEST(Reliability, DoctorSpotChecksVectorsAgainstTheFile) {
  testing::TempDir dir;
  const fs::path docs = dir / "docs";
  testing::write_text(docs / "a.txt", text_about("서울", 20));
  run_index(index_options(docs, true));
  const IndexLocation location = IndexLocation::for_folder(docs);
  EXPECT_TRUE(run_doctor(location, {}).healthy_after);
  {
    sql::Database database(location.database(), sql::Database::Mode::ReadWrite);
    // A vector changed behind the file's back (same generation, same stamp): only the spot check sees it.
    database.exec("UPDATE vectors SET embedding = zeroblob(length(embedding))");
  }
  const DoctorReport report = run_doctor(location, {});
  EXPECT_FALSE(report.healthy_after);
  ASSERT_FALSE(report.problems.empty());
  EXPECT_NE(report.problems[0].find("disagrees"), std::string::npos) << report.problems[0];
}

// Finding 6: commits follow the chunk tokens, not the file count, and a large file interrupted after some parts
// resumes after them.
TEST(Reliability, LargeFilesCommitInPartsAndResume) {
  testing::TempDir dir;
  const fs::path docs = dir / "docs";
  testing::write_text(docs / "big.txt", text_about("대용량", 400));
  testing::write_text(docs / "small.txt", text_about("작은", 2));
  fs::copy(docs, dir / "reference", fs::copy_options::recursive);
  IndexOptions options = index_options(docs, true);
  options.commit_tokens = 512;
  std::size_t reports = 0;
  // The progress callback runs after each commit; throwing from it stands in for a kill.
  EXPECT_THROW(run_index(options,
                         [&](const IndexProgress& progress) {
                           if (progress.chunks > 0 && ++reports == 4) throw Error("killed");
                         }),
               Error);
  const IndexLocation location = IndexLocation::for_folder(docs);
  std::size_t kept = 0;
  {
    const ChunkStore store(location.database(), false, sql::Database::Mode::ReadOnly);
    const auto big = store.find_file("big.txt");
    ASSERT_TRUE(big.has_value());
    EXPECT_EQ(big->status, FileStatus::Partial);
    kept = static_cast<std::size_t>(big->chunks);
    EXPECT_GT(kept, 0u);
  }
  const IndexSummary resumed = run_index(options);
  const IndexSummary clean = run_index(index_options(dir / "reference", true));
  EXPECT_EQ(resumed.chunks_added + kept, clean.chunks_added);  // the kept parts were not embedded again
  EXPECT_GE(ChunkStore(location.database(), false).generation(), clean.chunks_added * 16 / 512);
  EXPECT_EQ(chunk_texts(location.database()), chunk_texts(dir / "reference" / ".ksearch" / "index.db"));
  EXPECT_TRUE(run_doctor(location, {}).healthy_after);
}

// Finding 5: --rebuild builds beside the index; readers see the old index until the swap, and a killed rebuild
// leaves it intact.
TEST(Reliability, RebuildSwapsInOnlyWhenComplete) {
  testing::TempDir dir;
  const fs::path docs = dir / "docs";
  for (int i = 0; i < 40; ++i)
    testing::write_text(docs / ("f" + std::to_string(i) + ".txt"), text_about("문서" + std::to_string(i), 30));
  ASSERT_EQ(testing::run_ksearch({"index", docs.string(), "--model", kModel, "-q"}).exit_code, 0);
  const IndexLocation location = IndexLocation::for_folder(docs);
  const auto before = chunk_texts(location.database());
  ASSERT_GT(before.size(), 40u);

  // Killed while the new database is being filled.
  const pid_t pid = testing::spawn_ksearch({"index", docs.string(), "--rebuild", "--model", kModel, "-q"});
  bool building = false;
  for (int i = 0; i < 2000 && !building; ++i) {
    std::this_thread::sleep_for(5ms);
    try {
      building =
          fs::exists(location.rebuild_dir() / "index.db") &&
          ChunkStore(location.rebuild_dir() / "index.db", false, sql::Database::Mode::ReadOnly).counts().chunks > 0;
    } catch (const Error&) {
    }
    // Meanwhile a reader sees the whole old index.
    if (i % 50 == 0) {
      EXPECT_EQ(chunk_texts(location.database()).size(), before.size());
    }
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  ASSERT_TRUE(building) << "never saw the rebuild in progress";
  EXPECT_EQ(chunk_texts(location.database()), before);
  EXPECT_TRUE(run_doctor(location, {}).healthy_after);

  // A complete rebuild replaces it and leaves no rebuild folder behind.
  testing::write_text(docs / "f0.txt", text_about("바뀐", 5));
  const auto done = testing::run_ksearch({"index", docs.string(), "--rebuild", "--model", kModel, "--json"});
  ASSERT_EQ(done.exit_code, 0) << done.err;
  EXPECT_EQ(Json::parse(done.out)["indexed"], 40);
  EXPECT_FALSE(fs::exists(location.rebuild_dir()));
  const auto after = chunk_texts(location.database());
  EXPECT_NE(after, before);
  EXPECT_TRUE(std::any_of(after.begin(), after.end(),
                          [](const std::string& c) { return c.find("바뀐") != std::string::npos; }));
  EXPECT_TRUE(run_doctor(location, {}).healthy_after);
}

// Finding 7: a server's engine follows its index when the folder is deleted and indexed again.
TEST(Reliability, EngineReopensAReplacedIndex) {
  testing::TempDir dir;
  const fs::path docs = dir / "docs";
  testing::write_text(docs / "seoul.txt", text_about("서울", 3));
  run_index(index_options(docs, true));
  const IndexLocation location = IndexLocation::for_folder(docs);
  EngineOptions options;
  options.model = kModel;
  const auto engine = SearchEngine::open(location, options);
  std::string event;
  EXPECT_FALSE(engine->refresh(&event));
  EXPECT_EQ(event, "");

  fs::remove_all(location.dir);
  EXPECT_FALSE(engine->refresh(&event));
  EXPECT_NE(event.find("gone"), std::string::npos) << event;
  event.clear();
  EXPECT_FALSE(engine->refresh(&event));
  EXPECT_EQ(event, "");  // said once

  fs::remove(docs / "seoul.txt");
  testing::write_text(docs / "busan.txt", text_about("부산", 2));
  run_index(index_options(docs, true));
  EXPECT_TRUE(engine->refresh(&event));
  EXPECT_NE(event.find("replaced"), std::string::npos) << event;
  SearchOptions lexical;
  lexical.mode = SearchMode::Lexical;
  EXPECT_EQ(engine->search("서울", lexical).results.size(), 0u);
  EXPECT_EQ(engine->search("부산", lexical).results.size(), 1u);
  SearchOptions dense;
  dense.mode = SearchMode::Dense;
  const auto found = engine->search("부산 문서의 0번째 문장은 부산에 관한 이야기다.", dense);
  ASSERT_FALSE(found.results.empty());
  EXPECT_EQ(found.results[0].chunk.path, "busan.txt");
}

// Finding 2: a query's size and term count are capped, and a search stops at its deadline or when cancelled.
TEST(Reliability, SearchBudget) {
  testing::TempDir dir;
  const fs::path docs = dir / "docs";
  testing::write_text(docs / "seoul.txt", text_about("서울", 50));
  run_index(index_options(docs, false));
  const auto engine = SearchEngine::open(IndexLocation::for_folder(docs));
  SearchOptions options;
  EXPECT_THROW(engine->search(std::string(kMaxQueryBytes + 1, 'a'), options), QueryTooLarge);
  std::string many_terms;
  for (std::size_t i = 0; i <= kMaxQueryTerms; ++i) many_terms += "w" + std::to_string(i) + " ";
  EXPECT_THROW(engine->search(many_terms, options), QueryTooLarge);

  options.deadline = std::chrono::steady_clock::now() - 1ms;
  EXPECT_THROW(engine->search("서울", options), SearchInterrupted);
  options.deadline = std::chrono::steady_clock::time_point::max();
  std::atomic<bool> cancelled{true};
  options.cancelled = &cancelled;
  EXPECT_THROW(engine->search("서울", options), SearchInterrupted);
  cancelled = false;
  EXPECT_FALSE(engine->search("서울", options).results.empty());
}

// Finding 2: the deadline reaches inside SQLite.  A store query polled with a stop that turns true mid-way is
// interrupted rather than run to the end.
TEST(Reliability, LexicalSearchStopsInsideSqlite) {
  testing::TempDir dir;
  const fs::path docs = dir / "docs";
  for (int i = 0; i < 30; ++i) testing::write_text(docs / ("f" + std::to_string(i) + ".txt"), text_about("서울", 40));
  run_index(index_options(docs, false));
  const ChunkStore store(IndexLocation::for_folder(docs).database(), false, sql::Database::Mode::ReadOnly);
  int polls = 0;
  EXPECT_THROW(store.lexical_search(lexical_query("서울"), 10, [&] { return ++polls > 1; }), Error);
  EXPECT_EQ(polls, 2);
  EXPECT_EQ(store.lexical_search(lexical_query("서울"), 10).size(), 10u);
}

// Finding 9: search, status and doctor on an index the user cannot write (run as `nobody`), and on a full disk
// (file size limit: SQLite cannot create its WAL index, as with no space left).
TEST(Reliability, ReadOnlyIndexAndFullDisk) {
  if (geteuid() != 0 || shell("command -v setpriv > /dev/null") != 0) GTEST_SKIP() << "needs root and setpriv";
  testing::TempDir dir;
  const fs::path docs = dir / "docs";
  testing::write_text(docs / "seoul.txt", text_about("서울", 3));
  ASSERT_EQ(testing::run_ksearch({"index", docs.string(), "--no-model", "-q"}).exit_code, 0);
  fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                  fs::perms::others_read | fs::perms::others_exec);
  ASSERT_FALSE(fs::exists(docs / ".ksearch" / "index.db-wal"));
  const std::string binary = KSEARCH_BINARY;
  const fs::path out = dir / "out.txt";
  const std::string as_nobody = "cd " + shell_quoted(docs) +
                                " && setpriv --reuid nobody --regid nogroup --clear-groups " + shell_quoted(binary) +
                                " ";
  for (const std::string command : {"search 서울 --json", "status", "doctor"}) {
    EXPECT_EQ(shell(as_nobody + command + " > " + shell_quoted(out) + " 2>&1"), 0) << command << ": " << read_file(out);
    EXPECT_EQ(read_file(out).find("problem"), std::string::npos) << read_file(out);
  }
  EXPECT_EQ(shell(as_nobody + "search 서울 --json > " + shell_quoted(out) + " 2>&1"), 0);
  EXPECT_EQ(Json::parse(read_file(out))["results"].size(), 1u);
  EXPECT_FALSE(fs::exists(docs / ".ksearch" / "index.db-wal"));

  // Full disk: writes that grow a file past 16 blocks fail (8 KiB in dash, 16 KiB in bash): the output fits, SQLite's
  // 32 KiB WAL index does not.
  const std::string full =
      "cd " + shell_quoted(docs) + " && ulimit -f 16 && trap '' XFSZ && " + shell_quoted(binary) + " ";
  EXPECT_EQ(shell(full + "search 서울 --json > " + shell_quoted(out) + " 2>&1"), 0) << read_file(out);
  EXPECT_EQ(Json::parse(read_file(out))["results"].size(), 1u);
  EXPECT_EQ(shell(full + "status > " + shell_quoted(out) + " 2>&1"), 0) << read_file(out);
}

// Finding 10: a damaged database is rebuilt from the source files by `doctor --repair`, as its message promises.
TEST(Reliability, RepairRebuildsADamagedDatabase) {
  testing::TempDir dir;
  const fs::path docs = dir / "docs";
  testing::write_text(docs / "seoul.txt", text_about("서울", 3));
  testing::write_text(docs / "busan.txt", text_about("부산", 3));
  ASSERT_EQ(testing::run_ksearch({"index", docs.string(), "--no-model", "-q"}).exit_code, 0);
  {
    std::fstream file(docs / ".ksearch" / "index.db", std::ios::in | std::ios::out | std::ios::binary);
    const std::string garbage(100, 'x');
    file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));  // the header: "not a database"
  }
  const auto search = testing::run_ksearch({"search", "서울"}, "", {}, docs);
  EXPECT_NE(search.exit_code, 0);
  EXPECT_NE(search.err.find("doctor --repair"), std::string::npos) << search.err;
  const auto check = testing::run_ksearch({"doctor", "--json"}, "", {}, docs);
  EXPECT_EQ(check.exit_code, 1) << check.err;
  EXPECT_EQ(Json::parse(check.out)["healthy"], false);
  const auto repair =
      testing::run_ksearch({"doctor", "--repair", "--json"}, "", {{"KSEARCH_MODELS", dir.path().string()}}, docs);
  ASSERT_EQ(repair.exit_code, 0) << repair.out << repair.err;
  const Json report = Json::parse(repair.out);
  EXPECT_EQ(report["healthy"], true);
  EXPECT_EQ(report["files"], 2);
  EXPECT_NE(report["repairs"].dump().find("source folders"), std::string::npos) << report.dump();
  const auto after = testing::run_ksearch({"search", "서울", "--json", "--mode", "lexical"}, "", {}, docs);
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_EQ(Json::parse(after.out)["results"][0]["path"], "seoul.txt");
}

// Finding 12: doctor while a writer is paused mid-commit (holding SQLite's write lock with changes not committed)
// reports no false problem: its checks read one snapshot, and the full-text check that needs the lock is skipped
// with a note instead of failing as "database is locked".
TEST(Reliability, DoctorWhileAWriterHoldsTheDatabase) {
  testing::TempDir dir;
  const fs::path docs = dir / "docs";
  testing::write_text(docs / "seoul.txt", text_about("서울", 3));
  run_index(index_options(docs, false));
  const IndexLocation location = IndexLocation::for_folder(docs);
  sql::Database writer(location.database(), sql::Database::Mode::ReadWrite);
  register_fts_extensions(writer);
  sql::Transaction paused(writer);
  writer.exec("DELETE FROM chunks");
  const DoctorReport report = run_doctor(location, {});
  EXPECT_TRUE(report.healthy_after) << (report.problems.empty() ? "" : report.problems[0]);
  EXPECT_EQ(report.chunks, 1);
  ASSERT_FALSE(report.notes.empty());
  EXPECT_NE(report.notes.back().find("not checked"), std::string::npos) << report.notes.back();
}

// Finding 12: `rm` takes --wait, as its lock message says.
TEST(Reliability, RemoveWaitsForTheLockWhenAsked) {
  testing::TempDir dir;
  const fs::path docs = dir / "docs";
  testing::write_text(docs / "seoul.txt", text_about("서울", 3));
  ASSERT_EQ(testing::run_ksearch({"index", docs.string(), "--no-model", "-q"}).exit_code, 0);
  const IndexLocation location = IndexLocation::for_folder(docs);
  std::thread release;
  {
    auto lock = std::make_unique<IndexLock>(location, false);
    const auto refused = testing::run_ksearch({"rm", "seoul.txt"}, "", {}, docs);
    EXPECT_NE(refused.exit_code, 0);
    EXPECT_NE(refused.err.find("--wait"), std::string::npos) << refused.err;
    release = std::thread([lock = std::move(lock)]() mutable {
      std::this_thread::sleep_for(300ms);
      lock.reset();
    });
  }
  const auto waited = testing::run_ksearch({"rm", "seoul.txt", "--wait"}, "", {}, docs);
  release.join();
  EXPECT_EQ(waited.exit_code, 0) << waited.err;
  EXPECT_EQ(ChunkStore(location.database(), false, sql::Database::Mode::ReadOnly).counts().files, 0);
}

// Finding 12: an empty API key is an error, not "no key".
TEST(Reliability, EmptyApiKeyIsRefused) {
  const auto flag = testing::run_ksearch({"serve", "--api-key", "", "--port", "0", "--no-rerank"});
  EXPECT_NE(flag.exit_code, 0);
  EXPECT_NE(flag.err.find("--api-key is empty"), std::string::npos) << flag.err;
}

}  // namespace
}  // namespace ksearch
