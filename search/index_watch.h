// `ksearch watch` and `serve --watch`: the indexer run exactly as `ksearch index` runs it (so just as crash-safe),
// first once, then again after each settled batch of changes a FileWatcher reports in the index's folders.  Only
// hybrid fusion is refitted less often: when the changes since the last fit reach a tenth of the files.
#pragma once

#include <atomic>
#include <functional>
#include <memory>

#include "ingest/file_watcher.h"
#include "search/indexer.h"

namespace ksearch {

struct IndexWatchTotals {
  std::size_t runs = 0, indexed = 0, removed = 0, skipped = 0, chunks_added = 0;
};

class IndexWatch {
 public:
  IndexWatch(IndexOptions options, WatchOptions watch_options = {});
  ~IndexWatch();

  // Indexes, then watches the index's folders and indexes again after each batch of changes, until stop().
  // `on_run` receives each run's summary and the batch behind it (null for the first run).  Throws Error for what
  // `ksearch index` would (a damaged or incompatible index), and when the folders cannot be watched.
  void run(const std::function<void(const IndexSummary&, const WatchBatch*)>& on_run,
           const std::function<void(const IndexProgress&)>& progress = {});

  // Ends run() once the run in progress (if any) is complete.  Async-signal-safe.
  void stop();
  // True while an indexing run is in progress (a signal handler may read it).
  bool indexing() const { return indexing_.load(); }
  IndexWatchTotals totals() const;

 private:
  IndexSummary index_once(const std::function<void(const IndexProgress&)>& progress);

  IndexOptions options_;
  WatchOptions watch_options_;
  StopSignal stop_;
  std::atomic<bool> indexing_{false};
  std::atomic<std::size_t> runs_{0}, indexed_{0}, removed_{0}, skipped_{0}, chunks_added_{0};
};

}  // namespace ksearch
