// IndexWatch in process: the indexer run once, then after each batch of changes, with the model it was handed.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <exception>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "embed/model.h"
#include "search/index_watch.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The summaries of a watch's runs, as its callback hands them over; `batch` is false for the first run.
struct Runs {
  struct Run {
    IndexSummary summary;
    bool batch = false;
  };
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<Run> runs;
  bool ended = false;  // run() returned or threw

  void add(const IndexSummary& summary, const WatchBatch* batch) {
    const std::lock_guard lock(mutex);
    runs.push_back({summary, batch != nullptr});
    changed.notify_all();
  }
  void end() {
    const std::lock_guard lock(mutex);
    ended = true;
    changed.notify_all();
  }
  // Waits (at most 30 s, and not past the end of run()) until `count` runs were reported.
  bool wait_for(std::size_t count) {
    return wait_until([&] { return runs.size() >= count; });
  }
  // Files indexed by the runs after the first.
  std::size_t indexed_later() const {
    std::size_t indexed = 0;
    for (std::size_t i = 1; i < runs.size(); ++i) indexed += runs[i].summary.indexed;
    return indexed;
  }
  // Waits (at most 30 s, and not past the end of run()) until `done()` holds; it is called under the lock.
  template <typename Done>
  bool wait_until(Done done) {
    std::unique_lock lock(mutex);
    changed.wait_for(lock, 30s, [&] { return done() || ended; });
    return done();
  }
};

IndexLocation index_folder(const fs::path& docs, const std::string& model) {
  IndexOptions options;
  options.folders = {docs};
  options.db_dir = docs / ".ksearch";
  options.model = model;
  return run_index(options).location;
}

IndexOptions watch_options(const IndexLocation& location) {
  IndexOptions options;
  options.db_dir = location.dir;
  options.root = location.root;
  options.wait_for_lock = true;
  return options;
}

WatchOptions quick() {
  WatchOptions options;
  options.quiet = 50ms;
  return options;
}

// `serve --watch` hands its model over, so the weights are in memory once; with the model's folder gone the watch
// can only index through that copy.
TEST(IndexWatch, IndexesWithTheModelItWasHandedInsteadOfLoadingAnother) {
  testing::TempDir dir;
  const fs::path model_dir = dir / "model", docs = dir / "docs";
  testing::copy_model(testing::fixture("tiny-e5-bert"), model_dir);
  testing::write_text(docs / "부산.txt", "부산광역시는 항구 도시이다.\n");
  const IndexLocation location = index_folder(docs, model_dir.string());
  IndexOptions options = watch_options(location);
  options.loaded_model = Model::load(model_dir.string());
  fs::remove_all(model_dir);

  IndexWatch watch(options, quick());
  Runs runs;
  std::exception_ptr failure;
  std::thread thread([&] {
    try {
      watch.run([&](const IndexSummary& summary, const WatchBatch* batch) { runs.add(summary, batch); });
    } catch (...) {
      failure = std::current_exception();
    }
    runs.end();
  });
  const bool first = runs.wait_for(1);
  if (first) {  // written whole, then renamed in: no run can read it half-written
    testing::write_text(docs / ".대구.tmp", "대구는 사과로 유명하다.\n");
    fs::rename(docs / ".대구.tmp", docs / "대구.txt");
  }
  const bool second = first && runs.wait_until([&] { return runs.indexed_later() >= 1; });
  watch.stop();
  thread.join();
  if (failure) std::rethrow_exception(failure);
  ASSERT_TRUE(second);
  EXPECT_EQ(runs.indexed_later(), 1u);
  for (std::size_t i = 1; i < runs.runs.size(); ++i) {
    EXPECT_TRUE(runs.runs[i].batch);
    EXPECT_EQ(runs.runs[i].summary.model_id, model_dir.string());
  }
}

// A stop that comes during the first run (here: before it) ends the watch once that run is complete.
TEST(IndexWatch, AStopDuringTheFirstRunEndsTheWatchAfterIt) {
  testing::TempDir dir;
  testing::write_text(dir / "docs" / "광주.txt", "광주에는 무등산이 있다.\n");
  IndexOptions options;
  options.folders = {dir / "docs"};
  options.db_dir = dir / "docs" / ".ksearch";
  options.no_model = true;
  IndexWatch watch(options, quick());
  watch.stop();
  Runs runs;
  watch.run([&](const IndexSummary& summary, const WatchBatch* batch) { runs.add(summary, batch); });
  ASSERT_EQ(runs.runs.size(), 1u);
  EXPECT_FALSE(runs.runs[0].batch);
  EXPECT_EQ(runs.runs[0].summary.indexed, 1u);
  EXPECT_EQ(watch.totals().runs, 1u);
}

}  // namespace
}  // namespace ksearch
