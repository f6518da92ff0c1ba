#include "search/index_watch.h"

#include "ingest/file_walker.h"
#include "store/chunk_store.h"

namespace ksearch {
namespace fs = std::filesystem;

IndexWatch::IndexWatch(IndexOptions options, WatchOptions watch_options)
    : options_(std::move(options)), watch_options_(std::move(watch_options)) {}

IndexWatch::~IndexWatch() = default;

void IndexWatch::stop() { stop_.request(); }

IndexWatchTotals IndexWatch::totals() const {
  return {runs_.load(), indexed_.load(), removed_.load(), skipped_.load(), chunks_added_.load()};
}

IndexSummary IndexWatch::index_once(const std::function<void(const IndexProgress&)>& progress) {
  struct Busy {
    std::atomic<bool>& flag;
    explicit Busy(std::atomic<bool>& f) : flag(f) { flag.store(true); }
    ~Busy() { flag.store(false); }
  } busy(indexing_);
  IndexSummary summary = run_index(options_, progress);
  ++runs_;
  indexed_ += summary.indexed;
  removed_ += summary.removed;
  skipped_ += summary.skipped;
  chunks_added_ += summary.chunks_added;
  return summary;
}

void IndexWatch::run(const std::function<void(const IndexSummary&, const WatchBatch*)>& on_run,
                     const std::function<void(const IndexProgress&)>& progress) {
  const IndexSummary first = index_once(progress);
  on_run(first, nullptr);

  // Later runs update that same index with its own settings and folders, and keep its model loaded.  A `ksearch
  // index` started by hand meanwhile is waited for rather than reported as an error.
  const IndexLocation location = first.location;
  options_.db_dir = location.dir;
  options_.root = location.root;
  options_.folders.clear();
  options_.nested = false;
  options_.rebuild = false;
  options_.model.reset();
  options_.wait_for_lock = true;
  // A model handed in (the server's) is shared rather than loaded twice.
  if (!first.model_id.empty() && !(options_.loaded_model && options_.loaded_model->spec.id == first.model_id))
    options_.loaded_model = Model::load(first.model_id, options_.precision);

  std::vector<fs::path> folders;
  WatchOptions watch_options = watch_options_;
  {
    // The first run saved the excludes it was given (or kept the index's): the watch honours the same ones.
    const ChunkStore store(location.database(), false, sql::Database::Mode::ReadOnly);
    const IndexSettings settings = store.settings();
    folders = indexed_folders(location, settings);
    watch_options.exclude_globs.insert(watch_options.exclude_globs.end(), settings.excludes.begin(),
                                       settings.excludes.end());
  }
  // A folder deleted since it was indexed is reported by every run ("skipped ...: No such file or directory"); the
  // others are still watched.
  std::erase_if(folders, [](const fs::path& folder) {
    std::error_code error;
    return !fs::is_directory(folder, error);
  });
  if (folders.empty()) fail("none of the folders of the index at ", location.dir.string(), " exists: nothing to watch");
  // An index folder inside the tree (--db ./idx) changes with every run: its writes must not start another.
  if (const std::string inside = relative_to_root(location.dir, location.root); !fs::path(inside).is_absolute())
    watch_options.exclude_globs.push_back("/" + inside + "/");

  FileWatcher watcher(folders, location.root, stop_, watch_options);
  if (stop_.requested()) return;

  // Changes made during the first run, before the watches existed, are caught by one more pass.
  const WatchBatch catch_up;
  if (const IndexSummary summary = index_once(progress); summary.indexed + summary.removed + summary.skipped > 0)
    on_run(summary, &catch_up);
  // Refitting hybrid fusion encodes a few hundred pseudo-queries, seconds of model time that would delay the next
  // change: a watch refits once the changes since the last fit reach a tenth of the files (a burst, not every save).
  const bool calibrate = options_.calibrate_fusion;
  std::size_t files = first.indexed + first.unchanged + first.skipped, changed_since_fit = 0;
  while (const auto batch = watcher.next()) {
    options_.calibrate_fusion = calibrate && (changed_since_fit + batch->paths.size()) * 10 >= files;
    const IndexSummary summary = index_once(progress);
    files = summary.indexed + summary.unchanged + summary.skipped;
    changed_since_fit = options_.calibrate_fusion ? 0 : changed_since_fit + summary.indexed + summary.removed;
    on_run(summary, &*batch);
  }
}

}  // namespace ksearch
