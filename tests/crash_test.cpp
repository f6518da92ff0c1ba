// Crash safety: `ksearch index` killed with SIGKILL at 30 random moments and while saving the vector file; after
// every kill the index is consistent (`ksearch doctor`), and the run that follows ends with the same chunks and the
// same search results as an uninterrupted run.  Also: a large streamed file interrupted mid-way is redone.
#include <fcntl.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include "store/chunk_store.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string kModel = testing::fixture("tiny-bge-m3-xlmr").string();

// Every chunk as "path#ordinal#text", checking that each has exactly one vector when the index has a model.
std::set<std::string> chunk_set(const fs::path& index_dir, bool with_vectors) {
  ChunkStore store(index_dir / "index.db", false);
  if (with_vectors) {
    EXPECT_EQ(store.chunks_without_vectors(), 0);
  }
  std::set<std::string> out;
  for (const auto& file : store.files())
    for (const auto& chunk : store.chunks_of_file(file.id))
      out.insert(chunk.path + "#" + std::to_string(chunk.ordinal) + "#" + chunk.text);
  return out;
}

void kill_and_reap(pid_t pid) {
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
}

// SIGKILLs `pid` as soon as a temporary vector file appears in `index_dir` (i.e. during the atomic save), or when
// the process ends by itself.  Returns true when it caught the save.
bool kill_during_vector_save(pid_t pid, const fs::path& index_dir) {
  fs::create_directories(index_dir);
  const int watch = inotify_init1(IN_NONBLOCK);
  inotify_add_watch(watch, index_dir.c_str(), IN_CREATE);
  bool caught = false;
  for (auto deadline = std::chrono::steady_clock::now() + 60s; std::chrono::steady_clock::now() < deadline;) {
    char buffer[4096];
    const ssize_t n = read(watch, buffer, sizeof buffer);
    for (ssize_t offset = 0; n > 0 && offset < n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + offset);
      if (event->len > 0 && std::string(event->name).starts_with("vectors.faiss.tmp")) caught = true;
      offset += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
    }
    if (caught || waitpid(pid, nullptr, WNOHANG) == pid) break;
    std::this_thread::sleep_for(100us);
  }
  close(watch);
  kill_and_reap(pid);
  return caught;
}

Json doctor(const fs::path& docs) {
  const auto result = testing::run_ksearch({"doctor", "--json"}, "", {}, docs);
  EXPECT_NE(result.out, "") << result.err;
  return result.out.empty() ? Json() : Json::parse(result.out);
}

TEST(CrashSafety, ThirtyKillsAndKillsDuringTheVectorSave) {
  testing::TempDir dir;
  const fs::path docs = dir / "docs";
  for (int i = 0; i < 300; ++i) {
    std::string text;
    for (int s = 0; s < 25; ++s)
      text.append("문서 ")
          .append(std::to_string(i))
          .append("의 문장 ")
          .append(std::to_string(s))
          .append("은 서울과 부산 이야기를 담고 있다. ");
    const std::string folder = std::string("d").append(std::to_string(i % 7));
    testing::write_text(docs / folder / std::string("f").append(std::to_string(i)).append(".txt"), text);
  }
  const std::vector<std::string> index = {"index", docs.string(), "--model", kModel, "-q", "--chunk-tokens", "96"};
  fs::copy(docs, dir / "reference", fs::copy_options::recursive);
  ASSERT_EQ(
      testing::run_ksearch({"index", (dir / "reference").string(), "--model", kModel, "-q", "--chunk-tokens", "96"})
          .exit_code,
      0);

  std::mt19937 random(2024);
  int consistent = 0, saves_caught = 0;
  for (int attempt = 0; attempt < 30; ++attempt) {
    const pid_t pid = testing::spawn_ksearch(index);
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(5, 900)(random)));
    kill_and_reap(pid);
    if (!fs::exists(docs / ".ksearch" / "index.db")) continue;
    const Json report = doctor(docs);
    EXPECT_EQ(report["healthy"], true) << report.dump();
    ASSERT_EQ(testing::run_ksearch({"status", "--json"}, "", {}, docs).exit_code, 0);
    chunk_set(docs / ".ksearch", true);
    ++consistent;
    // Every few kills, change the corpus so the next runs have work (and a vector save) to do.
    if (attempt % 5 == 4) {
      testing::write_text(docs / "d0" / "f0.txt", "바뀐 내용 " + std::to_string(attempt));
      fs::remove(docs / "d1" / ("f" + std::to_string(1 + 7 * attempt) + ".txt"));
      fs::remove(dir / "reference" / "d1" / ("f" + std::to_string(1 + 7 * attempt) + ".txt"));
      testing::write_text(dir / "reference" / "d0" / "f0.txt", "바뀐 내용 " + std::to_string(attempt));
    }
  }
  // Kills while the vector file is being written.
  for (int attempt = 0; attempt < 3; ++attempt) {
    testing::write_text(docs / "extra" / ("e" + std::to_string(attempt) + ".txt"),
                        "추가 문서 " + std::to_string(attempt));
    testing::write_text(dir / "reference" / "extra" / ("e" + std::to_string(attempt) + ".txt"),
                        "추가 문서 " + std::to_string(attempt));
    if (kill_during_vector_save(testing::spawn_ksearch(index), docs / ".ksearch")) ++saves_caught;
    const Json report = doctor(docs);
    EXPECT_EQ(report["healthy"], true) << report.dump();
  }
  EXPECT_GT(consistent, 20);
  EXPECT_GE(saves_caught, 1);

  ASSERT_EQ(testing::run_ksearch(index).exit_code, 0);
  ASSERT_EQ(testing::run_ksearch({"index", (dir / "reference").string(), "-q"}).exit_code, 0);
  EXPECT_EQ(chunk_set(docs / ".ksearch", true), chunk_set(dir / "reference" / ".ksearch", true));
  EXPECT_EQ(doctor(docs)["problems"].size(), 0u);
  for (const char* query : {"문서 17의 문장", "바뀐 내용", "추가 문서"}) {
    const auto a = Json::parse(testing::run_ksearch({"search", query, "--json"}, "", {}, docs).out);
    const auto b = Json::parse(testing::run_ksearch({"search", query, "--json"}, "", {}, dir / "reference").out);
    ASSERT_EQ(a["results"].size(), b["results"].size());
    for (std::size_t i = 0; i < a["results"].size(); ++i) {
      EXPECT_EQ(a["results"][i]["path"], b["results"][i]["path"]) << query;
      EXPECT_EQ(a["results"][i]["text"], b["results"][i]["text"]) << query;
    }
  }
}

TEST(CrashSafety, InterruptedLargeFileIsRedone) {
  testing::TempDir dir;
  const fs::path docs = dir / "docs";
  {
    std::string line;
    for (int i = 0; i < 40; ++i) line += "대용량 파일의 " + std::to_string(i) + "번째 문장이다. ";
    line += "\n";
    std::string text;
    while (text.size() < (40u << 20)) text += line;  // 40 MiB: above the 32 MiB streaming threshold
    testing::write_text(docs / "big.txt", text);
  }
  testing::write_text(docs / "small.txt", "작은 파일");
  const pid_t pid = testing::spawn_ksearch({"index", docs.string(), "--no-model", "-q"});
  // Wait until some blocks of the big file are committed (status "partial"), then kill.
  bool partial = false;
  for (int i = 0; i < 400 && !partial; ++i) {
    std::this_thread::sleep_for(25ms);
    if (!fs::exists(docs / ".ksearch" / "index.db")) continue;
    try {
      ChunkStore store(docs / ".ksearch" / "index.db", false);
      const auto record = store.find_file("big.txt");
      partial = record && record->status == FileStatus::Partial && record->chunks > 0;
    } catch (const Error&) {
    }
  }
  kill_and_reap(pid);
  ASSERT_TRUE(partial) << "never saw the large file half indexed";
  const Json report = doctor(docs);
  EXPECT_EQ(report["healthy"], true);
  EXPECT_NE(report["notes"].dump().find("interrupted large file"), std::string::npos);
  const auto finish = testing::run_ksearch({"index", docs.string(), "--json"});
  ASSERT_EQ(finish.exit_code, 0) << finish.err;
  ChunkStore store(docs / ".ksearch" / "index.db", false);
  EXPECT_EQ(store.find_file("big.txt")->status, FileStatus::Indexed);
  // Ordinals run 0..n-1 exactly once: nothing duplicated from the interrupted run.
  const auto chunks = store.chunks_of_file(store.find_file("big.txt")->id);
  for (std::size_t i = 0; i < chunks.size(); ++i) ASSERT_EQ(chunks[i].ordinal, static_cast<int>(i));
  EXPECT_GT(chunks.size(), 1000u);
}

}  // namespace
}  // namespace ksearch
