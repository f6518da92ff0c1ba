// FileWatcher: which changes make a batch, and how many batches a burst becomes.  Every wait has a deadline: a batch
// that does not come within it fails the test instead of hanging it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>

#include "ingest/file_watcher.h"
#include "test_support.h"

namespace ksearch {
namespace {
namespace fs = std::filesystem;
using testing::TempDir;
using testing::write_text;
using namespace std::chrono_literals;

// A quiet time long enough that a test thread delayed on a busy machine does not split one change into two batches.
WatchOptions patient(std::vector<std::string> exclude_globs = {}) {
  WatchOptions options;
  options.quiet = 600ms;
  options.max_delay = 5s;
  options.exclude_globs = std::move(exclude_globs);
  return options;
}

// A watcher with the stop signal it borrows.
struct Watching {
  StopSignal stop;
  FileWatcher watcher;
  Watching(const std::vector<fs::path>& folders, const fs::path& root, WatchOptions options = patient())
      : watcher(folders, root, stop, std::move(options)) {}
};

// The next batch, or nothing when none settled within `deadline` (the watcher is then stopped for good).
std::optional<WatchBatch> next_within(Watching& watching, std::chrono::milliseconds deadline = 10s) {
  auto batch = std::async(std::launch::async, [&watching] { return watching.watcher.next(); });
  if (batch.wait_for(deadline) == std::future_status::timeout) watching.stop.request();
  return batch.get();
}

std::set<std::string> paths(const std::optional<WatchBatch>& batch) {
  return batch ? batch->paths : std::set<std::string>{};
}

TEST(FileWatcher, CreateModifyDeleteEachMakeABatch) {
  TempDir dir;
  Watching watcher({dir.path()}, dir.path());
  write_text(dir / "a.txt", "first");
  EXPECT_EQ(paths(next_within(watcher)), std::set<std::string>{"a.txt"});
  std::ofstream(dir / "a.txt", std::ios::app) << " more";
  EXPECT_EQ(paths(next_within(watcher)), std::set<std::string>{"a.txt"});
  fs::remove(dir / "a.txt");
  EXPECT_EQ(paths(next_within(watcher)), std::set<std::string>{"a.txt"});
}

TEST(FileWatcher, RenamesIntoAndOutOfTheTree) {
  TempDir outside, dir;
  fs::create_directories(dir / "docs");
  Watching docs_watcher({dir / "docs"}, dir.path());
  write_text(outside / "in.md", "# 안녕");
  fs::rename(outside / "in.md", dir / "docs/in.md");
  EXPECT_EQ(paths(next_within(docs_watcher)), std::set<std::string>{"docs/in.md"});
  fs::rename(dir / "docs/in.md", outside / "out.md");
  EXPECT_EQ(paths(next_within(docs_watcher)), std::set<std::string>{"docs/in.md"});
}

TEST(FileWatcher, EditorsAtomicSavesReportOnlyTheDocument) {
  TempDir dir;
  write_text(dir / "notes.txt", "old");
  Watching watcher({dir.path()}, dir.path());
  // vim: probe file "4913", the original renamed to a backup, the new text written, the backup deleted.
  write_text(dir / "4913", "");
  fs::remove(dir / "4913");
  fs::rename(dir / "notes.txt", dir / "notes.txt~");
  write_text(dir / "notes.txt", "new");
  fs::remove(dir / "notes.txt~");
  EXPECT_EQ(paths(next_within(watcher)), std::set<std::string>{"notes.txt"});
  // Most other editors: a hidden temporary file renamed over the document.
  write_text(dir / ".notes.txt.swp", "swap");
  write_text(dir / ".notes.txt.tmp123", "newer");
  fs::rename(dir / ".notes.txt.tmp123", dir / "notes.txt");
  fs::remove(dir / ".notes.txt.swp");
  EXPECT_EQ(paths(next_within(watcher)), std::set<std::string>{"notes.txt"});
}

TEST(FileWatcher, HiddenExcludedAndOtherTypesAreIgnored) {
  TempDir dir;
  fs::create_directories(dir / ".git");
  fs::create_directories(dir / "build");
  Watching watcher({dir.path()}, dir.path(), patient({"build/", "*.draft.md"}));
  write_text(dir / ".git/index.txt", "x");
  write_text(dir / "build/out.txt", "x");
  write_text(dir / "plan.draft.md", "x");
  write_text(dir / "data.csv", "a,b");
  write_text(dir / "photo.png", "x");
  write_text(dir / "report.md", "# 보고서");  // the one change that counts, written last
  EXPECT_EQ(paths(next_within(watcher)), std::set<std::string>{"report.md"});
  write_text(dir / "data.csv", "c,d");
  EXPECT_FALSE(next_within(watcher, 1s).has_value());
}

TEST(FileWatcher, NewSubfoldersAreWatched) {
  TempDir dir;
  Watching watcher({dir.path()}, dir.path());
  fs::create_directories(dir / "2024/상반기");
  const auto created = paths(next_within(watcher));
  EXPECT_TRUE(created.contains("2024")) << "folder creation is a change";
  write_text(dir / "2024/상반기/회의록.txt", "회의");
  EXPECT_EQ(paths(next_within(watcher)), std::set<std::string>{"2024/상반기/회의록.txt"});
  EXPECT_EQ(watcher.watcher.watched_folders(), 3u);
}

TEST(FileWatcher, FolderRenamedInsideTheTreeIsWatchedUnderItsNewName) {
  TempDir dir;
  fs::create_directories(dir / "old/deep");
  Watching watcher({dir.path()}, dir.path());
  fs::rename(dir / "old", dir / "new");
  EXPECT_EQ(paths(next_within(watcher)), (std::set<std::string>{"new", "old"}));
  write_text(dir / "new/deep/a.txt", "x");
  EXPECT_EQ(paths(next_within(watcher)), std::set<std::string>{"new/deep/a.txt"});
}

TEST(FileWatcher, KoreanLongFileNames) {
  TempDir dir;
  Watching watcher({dir.path()}, dir.path());
  std::string name;
  for (int i = 0; i < 80; ++i)
    name += std::string("가나다라마바사아자차카타파하").substr(static_cast<std::size_t>(i % 14) * 3, 3);
  name += ".txt";  // 244 bytes, near the 255-byte limit of a file name
  write_text(dir / name, "긴 이름");
  EXPECT_EQ(paths(next_within(watcher)), std::set<std::string>{name});
}

TEST(FileWatcher, BurstOfAThousandFilesIsOneOrAFewBatches) {
  TempDir dir;
  fs::create_directories(dir / "src");
  Watching watcher({dir.path()}, dir.path());
  for (int i = 0; i < 1000; ++i) write_text(dir / ("src/file" + std::to_string(i) + ".md"), "# " + std::to_string(i));
  std::set<std::string> seen;
  int batches = 0;
  while (seen.size() < 1000) {
    const auto batch = next_within(watcher);
    ASSERT_TRUE(batch.has_value()) << "only " << seen.size() << " of 1000 files reported";
    seen.insert(batch->paths.begin(), batch->paths.end());
    ++batches;
  }
  EXPECT_LE(batches, 3);
}

TEST(FileWatcher, QueueOverflowAsksForAFullWalk) {
  std::ifstream limit_file("/proc/sys/fs/inotify/max_queued_events");
  std::size_t limit = 0;
  limit_file >> limit;
  if (limit == 0 || limit > 50000) GTEST_SKIP() << "inotify queue of " << limit << " events: too long to fill here";
  TempDir dir;
  Watching watcher({dir.path()}, dir.path());
  // Each file makes two events (create, close); none is read until all are made.
  for (std::size_t i = 0; i < limit / 2 + 100; ++i) {
    const int fd = ::open((dir / (std::to_string(i) + ".txt")).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    ::close(fd);
  }
  const auto batch = next_within(watcher);
  ASSERT_TRUE(batch.has_value());
  EXPECT_TRUE(batch->overflow);
  write_text(dir / "after.txt", "x");
  EXPECT_EQ(paths(next_within(watcher)), std::set<std::string>{"after.txt"}) << "still watching after the overflow";
}

TEST(FileWatcher, StopEndsAWaitingNext) {
  TempDir dir;
  Watching watcher({dir.path()}, dir.path());
  auto waiting = std::async(std::launch::async, [&watcher] { return watcher.watcher.next(); });
  watcher.stop.request();
  ASSERT_EQ(waiting.wait_for(10s), std::future_status::ready);
  EXPECT_FALSE(waiting.get().has_value());
  EXPECT_FALSE(watcher.watcher.next().has_value()) << "stays stopped";
}

// The signal belongs to the watch's owner: a stop that came before the watcher existed still ends its first wait.
TEST(FileWatcher, AStopRequestedBeforeTheWatcherExistedEndsItsFirstWait) {
  TempDir dir;
  StopSignal stop;
  stop.request();
  FileWatcher watcher({dir.path()}, dir.path(), stop, patient());
  write_text(dir / "a.txt", "x");
  auto waiting = std::async(std::launch::async, [&watcher] { return watcher.next(); });
  ASSERT_EQ(waiting.wait_for(10s), std::future_status::ready);
  EXPECT_FALSE(waiting.get().has_value());
}

TEST(FileWatcher, RefusesAFileOrAMissingFolder) {
  TempDir dir;
  write_text(dir / "a.txt", "x");
  const StopSignal stop;
  try {
    FileWatcher watcher({dir / "a.txt"}, dir.path(), stop);
    FAIL() << "a file was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("a.txt: not a folder"), std::string::npos) << e.what();
  }
  EXPECT_THROW(FileWatcher({dir / "missing"}, dir.path(), stop), Error);
}

}  // namespace
}  // namespace ksearch
