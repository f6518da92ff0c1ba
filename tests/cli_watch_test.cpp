// End-to-end: `ksearch watch` and `ksearch serve --watch` keep an index of a temp folder of Korean files up to date
// while files are created, edited, renamed, saved atomically, deleted and written in a burst.  Every wait polls a
// condition until a deadline; none is a fixed sleep.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include "base/files.h"
#include "base/json.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kModel = testing::fixture("tiny-bge-m3-xlmr").string();

// The ksearch binary running in the background, its output going to files; killed if the test ends first.
class Background {
 public:
  Background(const std::vector<std::string>& arguments, const fs::path& output_dir)
      : out_(output_dir / "stdout"), err_(output_dir / "stderr") {
    pid_ = fork();
    if (pid_ == 0) {
      const int out = open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int err = open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(out, 1), dup2(err, 2);
      std::vector<std::string> copies{KSEARCH_BINARY};
      copies.insert(copies.end(), arguments.begin(), arguments.end());
      std::vector<char*> argv;
      for (auto& argument : copies) argv.push_back(argument.data());
      argv.push_back(nullptr);
      execv(KSEARCH_BINARY, argv.data());
      _exit(127);
    }
  }
  ~Background() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  std::string out() const { return fs::exists(out_) ? read_file(out_) : ""; }
  std::string err() const { return fs::exists(err_) ? read_file(err_) : ""; }
  // Sends `signal` and returns the exit status (-1 unless it exited normally).
  int stop(int signal) {
    kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  fs::path out_, err_;
  pid_t pid_ = -1;
};

// Polls `condition` until it holds or `deadline` passes; returns whether it held.
bool eventually(const std::function<bool()>& condition, std::chrono::seconds deadline = 30s) {
  for (const auto end = Clock::now() + deadline; Clock::now() < end; std::this_thread::sleep_for(20ms))
    if (condition()) return true;
  return condition();
}

// Whether the watch's output stayed the same for `still` (within 60 s): no run finished meanwhile, so none was
// pending (a batch starts at most 1.5 s after its first event, and a run that finds nothing new takes well under
// a second).
bool settled(const Background& watch, std::chrono::seconds still = 3s) {
  std::string last = watch.out();
  auto since = Clock::now();
  for (const auto end = Clock::now() + 60s; Clock::now() < end; std::this_thread::sleep_for(50ms)) {
    if (std::string now = watch.out(); now != last) {
      last = std::move(now);
      since = Clock::now();
    } else if (Clock::now() - since >= still) {
      return true;
    }
  }
  return false;
}

// The paths a lexical search of the index at `db` returns for `query`.
std::string found(const fs::path& db, const std::string& query) {
  return testing::run_ksearch({"search", query, "--db", db.string(), "--mode", "lexical", "-l"}).out;
}

int indexed_files(const fs::path& db) {
  const auto status = testing::run_ksearch({"status", "--json", "--db", db.string()});
  return status.exit_code == 0 ? Json::parse(status.out)["indexed_files"].get<int>() : -1;
}

TEST(CliWatch, FollowsCreatesEditsRenamesSavesDeletesAndBursts) {
  testing::TempDir dir;
  const fs::path docs = dir / "docs", db = docs / ".ksearch";
  testing::write_text(docs / "서울.md", "# 서울\n\n서울특별시는 대한민국의 수도이다.\n");
  Background watch({"watch", docs.string(), "--no-model"}, dir.path());
  ASSERT_TRUE(eventually([&] { return watch.out().find("watching ") != std::string::npos; })) << watch.err();
  EXPECT_NE(watch.out().find("indexed 1,"), std::string::npos) << watch.out();

  // A new file with a long Korean name, in a new subfolder: searchable soon after it is written.
  std::string name;
  for (int i = 0; i < 30; ++i) name += "가나다라마바사";
  name = name.substr(0, 60 * 3) + " 회의록.txt";
  const auto written = Clock::now();
  testing::write_text(docs / "2024/상반기" / name, "제주도 한라산 등반 계획을 논의했다.\n");
  ASSERT_TRUE(eventually([&] { return found(db, "한라산").find(name) != std::string::npos; })) << watch.err();
  const double seconds = std::chrono::duration<double>(Clock::now() - written).count();
  EXPECT_LT(seconds, 10) << "searchable after " << seconds << " s";
  std::cerr << "new file searchable after " << seconds << " s\n";

  // An edit replaces the old text.
  testing::write_text(docs / "서울.md", "# 서울\n\n서울에는 남산타워가 있다.\n");
  ASSERT_TRUE(eventually([&] { return found(db, "남산타워").find("서울.md") != std::string::npos; }));
  EXPECT_EQ(found(db, "수도"), "");

  // A rename, and an editor's atomic save (a hidden temp file renamed over the document).
  fs::rename(docs / "서울.md", docs / "수도.md");
  ASSERT_TRUE(eventually([&] { return found(db, "남산타워").find("수도.md") != std::string::npos; }));
  EXPECT_EQ(found(db, "남산타워").find("서울.md"), std::string::npos);
  testing::write_text(docs / ".수도.md.swp", "편집 중");
  testing::write_text(docs / ".수도.md.tmp", "# 수도\n\n경복궁은 조선의 궁궐이다.\n");
  fs::rename(docs / ".수도.md.tmp", docs / "수도.md");
  fs::remove(docs / ".수도.md.swp");
  ASSERT_TRUE(eventually([&] { return found(db, "경복궁").find("수도.md") != std::string::npos; }));

  // A delete, and a folder moved out of the tree.
  fs::rename(docs / "2024", dir / "archive");
  ASSERT_TRUE(eventually([&] { return found(db, "한라산").empty(); }));
  EXPECT_EQ(indexed_files(db), 1);

  // A burst (a `git checkout` writing 1,000 files) becomes one or a few runs.
  const std::size_t runs_before = watch.out().size();
  for (int i = 0; i < 1000; ++i)
    testing::write_text(docs / "burst" / ("공지" + std::to_string(i) + ".txt"), "공지 " + std::to_string(i) + "번\n");
  ASSERT_TRUE(eventually([&] { return indexed_files(db) == 1001; })) << watch.out();
  const std::string burst_output = watch.out().substr(runs_before);
  std::size_t runs = 0;
  for (std::size_t at = 0; (at = burst_output.find(" change", at)) != std::string::npos; ++at) ++runs;
  EXPECT_GE(runs, 1u);
  EXPECT_LE(runs, 4u) << burst_output;

  // Ctrl-C between runs ends the watch cleanly, saying what was committed.  A run walks every folder, so the burst's
  // last batch may start one more run that finds nothing new: wait until the output has been still a while.
  ASSERT_TRUE(settled(watch)) << watch.out();
  EXPECT_EQ(watch.stop(SIGINT), 0) << watch.err();
  EXPECT_NE(watch.out().find("stopped watching after "), std::string::npos) << watch.out();
  EXPECT_NE(watch.out().find("the index is up to date"), std::string::npos) << watch.out();
}

// A folder of the index deleted since: each run says it is gone, and the others are still watched.
TEST(CliWatch, AFolderDeletedSinceIndexingLeavesTheOthersWatched) {
  testing::TempDir dir;
  const fs::path db = dir / "a" / ".ksearch";
  testing::write_text(dir / "a" / "광주.txt", "광주에는 무등산이 있다.\n");
  testing::write_text(dir / "b" / "전주.txt", "전주 비빔밥은 유명하다.\n");
  ASSERT_EQ(
      testing::run_ksearch({"index", "a", "b", "--db", db.string(), "--no-model", "-q"}, "", {}, dir.path()).exit_code,
      0);
  fs::remove_all(dir / "b");
  Background watch({"watch", "--db", db.string()}, dir.path());
  ASSERT_TRUE(eventually([&] { return watch.out().find("watching") != std::string::npos; })) << watch.err();
  testing::write_text(dir / "a" / "대구.txt", "대구는 사과로 유명하다.\n");
  ASSERT_TRUE(eventually([&] { return found(db, "사과").find("대구.txt") != std::string::npos; })) << watch.err();
  EXPECT_EQ(watch.stop(SIGINT), 0) << watch.err();
  EXPECT_NE(watch.out().find("No such file or directory"), std::string::npos) << watch.out();
}

// A stop is how a watch ends: during a run (here the first, over many files with a model) it ends at once, still
// with status 0, and what was committed stays for the next run.
TEST(CliWatch, AStopDuringARunExitsZeroAndKeepsWhatWasCommitted) {
  testing::TempDir dir;
  const fs::path docs = dir / "docs", db = docs / ".ksearch";
  constexpr int kFiles = 3000;
  for (int i = 0; i < kFiles; ++i)
    testing::write_text(docs / ("문서" + std::to_string(i) + ".txt"), "문서 " + std::to_string(i) + "번의 내용이다.\n");
  Background watch({"watch", docs.string(), "--model", kModel}, dir.path());
  ASSERT_TRUE(eventually([&] { return fs::exists(db); })) << watch.err();
  EXPECT_EQ(watch.stop(SIGTERM), 0) << watch.err();
  EXPECT_NE(watch.err().find("interrupted"), std::string::npos) << watch.err();
  EXPECT_NE(watch.err().find("the next `ksearch watch` or `ksearch index` catches up"), std::string::npos)
      << watch.err();
  EXPECT_EQ(watch.out().find("stopped watching"), std::string::npos) << watch.out();
  ASSERT_EQ(testing::run_ksearch({"index", docs.string(), "-q"}).exit_code, 0);
  EXPECT_EQ(indexed_files(db), kFiles);
}

TEST(CliWatch, KeepsVectorsInStepWithAModel) {
  testing::TempDir dir;
  const fs::path docs = dir / "docs", db = docs / ".ksearch";
  testing::write_text(docs / "부산.txt", "부산광역시는 항구 도시이다.\n");
  Background watch({"watch", docs.string(), "--model", kModel, "--json"}, dir.path());
  ASSERT_TRUE(eventually([&] { return !watch.out().empty(); })) << watch.err();
  const auto written = Clock::now();
  testing::write_text(docs / "대구.txt", "대구는 사과로 유명하다.\n");
  ASSERT_TRUE(eventually([&] { return found(db, "사과").find("대구.txt") != std::string::npos; })) << watch.err();
  const double searchable_after = std::chrono::duration<double>(Clock::now() - written).count();
  // The run that committed it may still be finishing (vectors, fusion): a stop then would interrupt it.
  ASSERT_TRUE(eventually([&] { return std::ranges::count(watch.out(), '\n') >= 2; })) << watch.out();
  std::cerr << "new file searchable after " << searchable_after << " s (with a model)\n";
  const auto dense = testing::run_ksearch({"search", "사과", "--db", db.string(), "--mode", "dense", "-l", "-k", "2"});
  EXPECT_EQ(dense.exit_code, 0) << dense.err;
  EXPECT_NE(dense.out.find("대구.txt"), std::string::npos) << dense.out;
  const Json status = Json::parse(testing::run_ksearch({"status", "--json", "--db", db.string()}).out);
  EXPECT_EQ(status["vectors"], status["chunks"]);
  EXPECT_EQ(watch.stop(SIGTERM), 0) << watch.err();
  // One JSON line per run: the first indexes 부산.txt, a later one 대구.txt (the watch's catch-up run when it was
  // written before the watches were set, with "changed" empty then).
  std::vector<Json> runs;
  const std::string out = watch.out();
  for (std::size_t begin = 0, end; (end = out.find('\n', begin)) != std::string::npos; begin = end + 1)
    runs.push_back(Json::parse(out.substr(begin, end - begin)));
  ASSERT_GE(runs.size(), 2u) << out;
  EXPECT_TRUE(runs[0]["changed"].is_null());
  int indexed = 0;
  for (const Json& run : runs) indexed += run["indexed"].get<int>();
  EXPECT_EQ(indexed, 2) << out;
  const Json& last = runs.back();
  EXPECT_TRUE(last["changed"] == Json::array() || last["changed"] == Json::array({"대구.txt"})) << out;
}

TEST(CliWatch, ServeWatchServesANewFileWithoutRestart) {
  testing::TempDir dir;
  const fs::path docs = dir / "docs", db = docs / ".ksearch";
  testing::write_text(docs / "광주.txt", "광주에는 무등산이 있다.\n");
  ASSERT_EQ(testing::run_ksearch({"index", docs.string(), "--no-model", "-q"}).exit_code, 0);
  Background server({"serve", "--watch", "--db", db.string(), "--port", "0", "--no-rerank"}, dir.path());
  ASSERT_TRUE(eventually([&] { return server.out().find("\"port\"") != std::string::npos; })) << server.err();
  httplib::Client client("127.0.0.1", Json::parse(server.out())["port"].get<int>());
  const auto search = [&](const std::string& query) {
    const auto response =
        client.Post("/v1/search", Json{{"query", query}, {"mode", "lexical"}}.dump(), "application/json");
    return response && response->status == 200 ? response->body : std::string();
  };
  EXPECT_NE(search("무등산").find("광주.txt"), std::string::npos);
  testing::write_text(docs / "전주.txt", "전주 비빔밥은 유명하다.\n");
  ASSERT_TRUE(eventually([&] { return search("비빔밥").find("전주.txt") != std::string::npos; })) << server.err();
  // From the watch (or its catch-up rescan, when the file came before the watches were set).
  // The run is logged after its commit, which the search may already see.
  EXPECT_TRUE(eventually([&] {
    const std::string log = server.err();
    return log.find("re-indexed after 1 change(s): indexed 1,") != std::string::npos ||
           log.find("re-indexed: indexed 1,") != std::string::npos;
  })) << server.err();
}

}  // namespace
}  // namespace ksearch
