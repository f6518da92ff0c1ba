#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "base/display_width.h"
#include "base/json.h"
#include "cli/commands.h"
#include "cli/terminal.h"
#include "ingest/document.h"
#include "ingest/file_walker.h"
#include "search/doctor.h"
#include "search/fusion_calibration.h"
#include "search/index_handle.h"
#include "search/index_status.h"
#include "search/index_watch.h"
#include "search/indexer.h"

namespace ksearch::cli {
namespace fs = std::filesystem;

IndexLocation locate_index(const std::optional<std::string>& db) {
  return ksearch::locate_index(db ? std::optional<fs::path>(*db) : std::nullopt);
}

namespace {

struct IndexFlags {
  std::vector<std::string> folders;
  std::optional<std::string> db;
  bool nested = false;
  std::optional<std::string> model;
  bool no_model = false;
  int chunk_tokens = 0;
  int overlap = -1;
  std::string index_spec;
  std::vector<std::string> excludes;
  bool no_exclude = false;
  bool follow_symlinks = false;
  bool no_follow_symlinks = false;
  std::size_t max_document_bytes = DocumentLimits{}.unpacked_bytes;
  std::size_t max_document_chunks = DocumentLimits{}.chunks;
  bool rebuild = false;
  bool wait = false;
  bool json = false;
  bool quiet = false;
  std::string precision = "fp32";
  int debounce_ms = 300;  // watch: quiet time that ends a batch of changes
};

// Files done so far, for the Ctrl-C message (lock-free atomics may be read in a signal handler).
std::atomic<std::size_t> files_done{0}, files_total{0};

void append_number(char*& out, std::size_t value) {
  char digits[24];
  int count = 0;
  do digits[count++] = static_cast<char>('0' + value % 10);
  while ((value /= 10) != 0);
  while (count > 0) *out++ = digits[--count];
}

// Ends the process at once with "interrupted after N of M files" and what comes next.  The files committed so far stay
// (the index survives even kill -9, and the next run resumes), so say that instead of dying silently.  Only
// async-signal-safe calls here.
[[noreturn]] void exit_interrupted(const char* next, int status) {
  char text[256];
  char* out = text;
  const auto append = [&out](const char* part) {
    while (*part != '\0') *out++ = *part++;
  };
  append("\r\x1b[K\ninterrupted");
  if (files_total.load() > 0) {  // zero: still planning, before the first file
    append(" after ");
    append_number(out, files_done.load());
    append(" of ");
    append_number(out, files_total.load());
    append(" files");
  }
  append("; what was committed is kept: ");
  append(next);
  append("\n");
  const ssize_t written = ::write(STDERR_FILENO, text, static_cast<std::size_t>(out - text));
  static_cast<void>(written);
  ::_exit(status);
}

// Ctrl-C during `index`.
void on_interrupt(int) { exit_interrupted("run `ksearch index` to resume", 130); }

void print_progress(const IndexProgress& progress) {
  const double rate = progress.elapsed_seconds > 0 ? progress.tokens / progress.elapsed_seconds : 0;
  std::string eta = "";
  if (progress.files_done > 0 && progress.files_done < progress.files_total) {
    const double remaining = progress.elapsed_seconds / static_cast<double>(progress.files_done) *
                             static_cast<double>(progress.files_total - progress.files_done);
    eta = " · ETA " + duration(remaining);
  }
  // One terminal line, cut by display columns (Hangul takes two) to one less than the width: a line that reaches
  // the last column wraps on many terminals, and every later update would then scroll.
  const std::size_t columns = terminal_width(stderr) - 1;
  const std::string counts =
      fit_width(cat("[", progress.files_done, "/", progress.files_total, "] ", thousands(progress.chunks), " chunks · ",
                    thousands(static_cast<std::size_t>(rate)), " tok/s", eta, "  "),
                columns);
  const std::string file = fit_width_from_end(escape_controls(progress.current), columns - display_width(counts));
  std::fprintf(stderr, "\r\x1b[K%s%s", counts.c_str(), file.c_str());
  std::fflush(stderr);
}

Json summary_json(const IndexSummary& s) {
  Json skipped = Json::array();
  for (const auto& [path, reason] : s.skipped_files) skipped.push_back({{"path", path}, {"reason", reason}});
  Json warnings = Json::array();
  for (const auto& [path, warning] : s.warnings) warnings.push_back({{"path", path}, {"warning", warning}});
  return {{"index", s.location.dir.string()},
          {"model", s.model_id.empty() ? Json() : Json(s.model_id)},
          {"indexed", s.indexed},
          {"unchanged", s.unchanged},
          {"removed", s.removed},
          {"skipped", s.skipped},
          {"chunks_added", s.chunks_added},
          {"tokens_embedded", s.tokens_embedded},
          {"added", s.added},
          {"other_file_types", s.other_types},
          {"other_extensions", s.other_extensions},
          {"seconds", s.seconds},
          {"vector_index", s.index_spec},
          {"skipped_files", skipped},
          {"warnings", warnings},
          {"notice", s.notice}};
}

void print_summary(const IndexSummary& s) {
  std::string line =
      cat("indexed ", s.indexed, ", unchanged ", s.unchanged, ", removed ", s.removed, ", skipped ", s.skipped);
  if (!s.skip_reasons.empty()) {
    line += " (";
    bool first = true;
    for (const auto& [reason, count] : s.skip_reasons) {
      line += (first ? "" : "; ") + reason + (count > 1 ? cat(" ×", count) : "");
      first = false;
    }
    line += ")";
  }
  line += cat(" · ", thousands(s.chunks_added), " chunks");
  if (s.tokens_embedded > 0 && s.seconds > 0)
    line += cat(", ", thousands(static_cast<std::size_t>(s.tokens_embedded / s.seconds)), " tok/s");
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.1fs", s.seconds);
  line += cat(" in ", seconds, " · ", s.model_id.empty() ? "lexical only" : "model " + s.model_id);
  std::cout << line << '\n';
  for (const auto& [path, reason] : s.skipped_files)
    std::cout << "  skipped " << escape_controls(path) << ": " << escape_controls(reason) << '\n';
  for (const auto& [path, warning] : s.warnings)
    std::cout << "  warning " << escape_controls(path) << ": " << escape_controls(warning) << '\n';
}

IndexOptions index_options(const IndexFlags& flags) {
  IndexOptions options;
  for (const auto& folder : flags.folders) options.folders.emplace_back(folder);
  if (flags.db) options.db_dir = fs::path(*flags.db);
  options.nested = flags.nested;
  options.model = flags.model;
  options.no_model = flags.no_model;
  options.chunk_tokens = flags.chunk_tokens;
  options.overlap_tokens = flags.overlap;
  options.index_spec = flags.index_spec;
  if (!flags.excludes.empty() || flags.no_exclude) options.excludes = flags.excludes;
  if (flags.follow_symlinks || flags.no_follow_symlinks) options.follow_symlinks = flags.follow_symlinks;
  options.document_limits.unpacked_bytes = flags.max_document_bytes;
  options.document_limits.chunks = flags.max_document_chunks;
  options.rebuild = flags.rebuild;
  options.wait_for_lock = flags.wait;
  options.precision = parse_precision(flags.precision);
  return options;
}

void run_index_command(const IndexFlags& flags) {
  const IndexOptions options = index_options(flags);
  const bool show_progress = !flags.json && !flags.quiet && is_terminal(stderr);
  const std::function<void(const IndexProgress&)> progress = [show_progress](const IndexProgress& state) {
    files_done = state.files_done;
    files_total = state.files_total;
    if (show_progress) print_progress(state);
  };
  std::signal(SIGINT, on_interrupt);
  const IndexSummary summary = run_index(options, progress);
  if (show_progress) std::fprintf(stderr, "\r\x1b[K");
  if (!summary.notice.empty() && !flags.json) std::cerr << "ksearch: " << summary.notice << '\n';
  if (flags.json) {
    std::cout << to_json_text(summary_json(summary)) << '\n';
  } else if (!flags.quiet) {
    print_summary(summary);
    if (!summary.fusion.empty()) std::cout << summary.fusion << '\n';
  }
  // Nothing searchable in what was named: say so and fail, rather than a quiet "indexed 0".
  if (summary.indexed + summary.unchanged + summary.skipped == 0) {
    std::string others;
    for (const auto& extension : summary.other_extensions)
      others += " " + (extension.empty() ? std::string("(no extension)") : escape_controls(extension));
    std::cerr << "ksearch: 0 supported files"
              << (summary.other_types > 0 ? cat(" (", summary.other_types, " others:", others, ")") : std::string())
              << " in " << escape_controls(summary.location.root.string()) << " (ksearch reads "
              << supported_formats_description() << ")\n";
    throw ExitStatus{1};
  }
}

// The watch being run, for the signal handler.
std::atomic<IndexWatch*> active_watch{nullptr};

// Ctrl-C or SIGTERM is how a watch ends, so it exits 0 (a service manager's stop is not a failure).  Between runs
// run() returns and the totals are printed; during a run the process ends at once, keeping what was committed.
void on_watch_interrupt(int) {
  IndexWatch* watch = active_watch.load();
  if (watch != nullptr && !watch->indexing())
    watch->stop();
  else
    exit_interrupted("the next `ksearch watch` or `ksearch index` catches up", 0);
}

std::string clock_time() {
  const std::time_t now = std::time(nullptr);
  char text[16];
  std::strftime(text, sizeof text, "%H:%M:%S", std::localtime(&now));
  return text;
}

void run_watch_command(const IndexFlags& flags) {
  if (flags.debounce_ms < 10) fail("--debounce ", flags.debounce_ms, ": give at least 10 milliseconds");
  WatchOptions watch_options;
  watch_options.quiet = std::chrono::milliseconds(flags.debounce_ms);
  watch_options.max_delay = std::max(watch_options.max_delay, 5 * watch_options.quiet);
  IndexWatch watch(index_options(flags), watch_options);
  const bool show_progress = !flags.json && !flags.quiet && is_terminal(stderr);
  const std::function<void(const IndexProgress&)> progress = [show_progress](const IndexProgress& state) {
    files_done = state.files_done;
    files_total = state.files_total;
    if (show_progress) print_progress(state);
  };
  const auto on_run = [&](const IndexSummary& summary, const WatchBatch* batch) {
    files_done = files_total = 0;  // a stop before the next run's first file names no count
    if (show_progress) std::fprintf(stderr, "\r\x1b[K");
    if (!summary.notice.empty() && !flags.json) std::cerr << "ksearch: " << summary.notice << '\n';
    if (flags.json) {
      Json line = summary_json(summary);
      line["changed"] = batch ? Json(std::vector<std::string>(batch->paths.begin(), batch->paths.end())) : Json();
      line["overflow"] = batch != nullptr && batch->overflow;
      std::cout << to_json_text(line) << std::endl;
      return;
    }
    if (flags.quiet) return;
    if (batch == nullptr) {
      print_summary(summary);
      std::cout << "watching " << escape_controls(summary.location.root.string()) << " for changes (Ctrl-C stops)"
                << std::endl;
      return;
    }
    // A few of the changed paths: a `git checkout` may change thousands.
    constexpr std::size_t kShown = 3;
    std::string changed;
    std::size_t shown = 0;
    for (const auto& path : batch->paths) {
      if (shown++ == kShown) break;
      changed += (changed.empty() ? "" : ", ") + escape_controls(path);
    }
    std::cout << clock_time() << "  " << batch->paths.size() << (batch->paths.size() == 1 ? " change" : " changes");
    if (batch->overflow) std::cout << " (the kernel dropped events: every folder walked again)";
    if (!batch->paths.empty()) std::cout << ": " << changed << (batch->paths.size() > kShown ? ", ..." : "");
    std::cout << '\n';
    print_summary(summary);
    std::cout.flush();
  };
  // The handlers reach `watch` only while it exists, however run() ends (an error unwinds through here too).
  struct Handlers {
    explicit Handlers(IndexWatch& watch) {
      active_watch = &watch;
      std::signal(SIGINT, on_watch_interrupt);
      std::signal(SIGTERM, on_watch_interrupt);
    }
    ~Handlers() {
      std::signal(SIGINT, SIG_DFL);
      std::signal(SIGTERM, SIG_DFL);
      active_watch = nullptr;
    }
  } handlers(watch);
  watch.run(on_run, progress);
  const IndexWatchTotals totals = watch.totals();
  if (!flags.json && !flags.quiet)
    std::cout << "stopped watching after " << totals.runs << (totals.runs == 1 ? " run" : " runs") << ": indexed "
              << totals.indexed << ", removed " << totals.removed << ", skipped " << totals.skipped << " · "
              << thousands(totals.chunks_added) << " chunks committed; the index is up to date" << std::endl;
}

void run_calibrate(const std::optional<std::string>& db, const std::string& precision,
                   const std::vector<double>& weights, bool json) {
  const std::optional<FusionWeights> by_hand =
      weights.empty() ? std::nullopt : std::optional(FusionWeights{weights[0], weights[1]});
  const FusionCalibration calibration = calibrate_index(locate_index(db), parse_precision(precision), false, by_hand);
  if (json)
    std::cout << to_json_text(fusion_calibration_json(calibration)) << '\n';
  else
    std::cout << describe_fusion(calibration) << '\n';
}

// "2026-12-06 19:50 (3 min ago)", in local time.
std::string when(std::int64_t unix_seconds) {
  const auto time = static_cast<std::time_t>(unix_seconds);
  std::tm local{};
  localtime_r(&time, &local);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M", &local);
  const std::int64_t ago = std::max<std::int64_t>(0, static_cast<std::int64_t>(std::time(nullptr)) - unix_seconds);
  const std::string since = ago < 60      ? "just now"
                            : ago < 3600  ? cat(ago / 60, " min ago")
                            : ago < 86400 ? cat(ago / 3600, " h ago")
                                          : cat(ago / 86400, " days ago");
  return cat(text, " (", since, ")");
}

// The first `shown` of `paths`, then how many more.
std::string some_paths(const std::vector<std::string>& paths, std::size_t shown = 3) {
  std::string text;
  for (std::size_t i = 0; i < paths.size() && i < shown; ++i) text += (i ? ", " : "") + escape_controls(paths[i]);
  if (paths.size() > shown) text += cat(", … (", paths.size() - shown, " more)");
  return text;
}

void print_status(const IndexStatus& status) {
  const IndexSettings& settings = status.settings;
  const StoreCounts& counts = status.counts;
  std::cout << "index      " << escape_controls(status.location.dir.string()) << '\n';
  for (std::size_t i = 0; i < status.roots.size(); ++i)
    std::cout << (i == 0 ? "folders    " : "           ") << escape_controls(status.roots[i].path.string())
              << (status.roots[i].exists ? "" : " (missing)") << '\n';
  if (!settings.excludes.empty()) {
    std::string globs;
    for (const auto& glob : settings.excludes) globs += (globs.empty() ? "" : " ") + escape_controls(glob);
    std::cout << "excludes   " << globs << "  (`ksearch index --no-exclude` clears them)\n";
  }
  if (settings.follow_symlinks) std::cout << "links      followed out of the folders (--follow-symlinks)\n";
  std::cout << "files      " << thousands(static_cast<std::size_t>(counts.files)) << " (" << counts.indexed_files
            << " indexed, " << counts.skipped_files << " skipped)\n"
            << "chunks     " << thousands(static_cast<std::size_t>(counts.chunks)) << '\n';
  std::cout << "model      ";
  if (settings.model_id.empty()) {
    std::cout << "none (lexical search only)\n";
  } else {
    std::cout << escape_controls(settings.model_id)
              << (settings.dimension > 0 ? cat(" (", settings.dimension, "-d, ", settings.pooling, " pooling)") : "");
    const std::string problem = status.model_problem.substr(0, status.model_problem.find('\n'));
    if (problem.empty())
      std::cout << ", available locally\n";
    else
      std::cout << ", not available here (searches are keyword-only): " << escape_controls(problem) << '\n';
    std::cout << "vectors    " << thousands(static_cast<std::size_t>(counts.vectors)) << " · index "
              << settings.index_spec << '\n';
  }
  std::cout << "chunking   " << settings.chunk_tokens << " tokens, overlap " << settings.overlap_tokens << '\n'
            << "size       database " << thousands(status.database_bytes / 1024) << " KiB, vectors "
            << thousands(status.vector_file_bytes / 1024) << " KiB\n";
  if (const auto& run = status.last_run) {
    std::cout << "last run   " << when(run->started) << (run->rebuild ? ", rebuild" : "");
    if (run->finished == 0) {
      std::cout << ": interrupted (or still running); run `ksearch index` to resume\n";
    } else {
      char seconds[32];
      std::snprintf(seconds, sizeof seconds, "%.1fs", run->seconds);
      std::cout << ": " << run->added << " added, " << run->changed << " changed, " << run->removed << " removed, "
                << run->skipped << " skipped, " << run->unchanged << " unchanged in " << seconds << '\n';
    }
  }
  if (!status.pending.empty())
    std::cout << "pending    " << status.pending.size() << " large file(s) part-indexed: " << some_paths(status.pending)
              << '\n';
  const ChangedFiles& changed = status.changed;
  if (changed.total() == 0) {
    std::cout << "changed    nothing since the last run\n";
  } else {
    std::cout << "changed    " << changed.added.size() << " new, " << changed.modified.size() << " modified, "
              << changed.removed.size() << " deleted since the last run: run `ksearch index`\n";
    const std::pair<const char*, const std::vector<std::string>*> lists[] = {
        {"new", &changed.added}, {"modified", &changed.modified}, {"deleted", &changed.removed}};
    for (const auto& [label, list] : lists)
      if (!list->empty()) std::cout << "           " << label << ": " << some_paths(*list) << '\n';
  }
  constexpr std::size_t kSkippedShown = 10;
  for (std::size_t i = 0; i < status.skipped.size() && i < kSkippedShown; ++i)
    std::cout << (i == 0 ? "skipped    " : "           ") << escape_controls(status.skipped[i].first) << ": "
              << escape_controls(status.skipped[i].second) << '\n';
  if (status.skipped.size() > kSkippedShown)
    std::cout << "           … " << status.skipped.size() - kSkippedShown
              << " more (`ksearch status --json` lists all)\n";
  if (const std::string fusion = describe_index_fusion(status); !fusion.empty()) std::cout << fusion << '\n';
}

void run_status(const std::optional<std::string>& db, bool json) {
  const IndexStatus status = read_index_status(locate_index(db));
  if (json)
    std::cout << to_json_text(index_status_json(status)) << '\n';
  else
    print_status(status);
}

void run_rm(const std::vector<std::string>& paths, const std::optional<std::string>& db, bool wait) {
  const std::vector<fs::path> targets(paths.begin(), paths.end());
  const RemovedFiles removed = remove_from_index(locate_index(db), targets, wait);
  for (const auto& path : removed.unmatched)
    std::cerr << "ksearch: " << escape_controls(path) << ": not in the index\n";
  std::cout << "removed " << removed.removed << " file(s) from the index\n";
}

void run_doctor_command(const std::optional<std::string>& db, const DoctorOptions& options, bool json) {
  const IndexLocation location = locate_index(db);
  const DoctorReport report = run_doctor(location, options);
  if (json) {
    std::cout << to_json_text(Json{{"index", location.dir.string()},
                                   {"healthy", report.healthy_after},
                                   {"problems", report.problems},
                                   {"repairs", report.repairs},
                                   {"notes", report.notes},
                                   {"generation", report.generation},
                                   {"files", report.files},
                                   {"chunks", report.chunks},
                                   {"vectors", report.vectors},
                                   {"vector_file_count", report.vector_file_count}})
              << '\n';
  } else {
    for (const auto& problem : report.problems) std::cout << "problem: " << problem << '\n';
    for (const auto& repair_done : report.repairs) std::cout << "repaired: " << repair_done << '\n';
    for (const auto& note : report.notes) std::cout << "note: " << note << '\n';
    std::cout << (report.healthy_after ? "index is consistent" : "index has problems; run `ksearch doctor --repair`")
              << " (" << report.files << " files, " << report.chunks << " chunks, " << report.vectors << " vectors, "
              << "generation " << report.generation << ")\n";
  }
  if (!report.healthy_after) std::exit(1);
}

}  // namespace

void add_index_commands(CLI::App& app) {
  auto flags = std::make_shared<IndexFlags>();
  CLI::App* index = app.add_subcommand("index", "index (or update) a folder of documents");
  index->add_option("folders", flags->folders, "folders (or files) to index; default: the index's folders");
  index->add_option("--db", flags->db, "index folder (default: the enclosing index, else FOLDER/.ksearch)");
  index->add_flag("--new", flags->nested, "a separate index in FOLDER/.ksearch even inside an indexed folder");
  auto* model = index->add_option("-m,--model", flags->model, "embedding model: alias, Hugging Face id or folder");
  index->add_flag("--no-model", flags->no_model, "lexical (keyword) search only")->excludes(model);
  index->add_option("--chunk-tokens", flags->chunk_tokens,
                    "chunk size in model tokens (default: 512 for e5, 1024 for bge-m3)");
  index->add_option("--overlap", flags->overlap, "tokens shared by consecutive chunks (default: chunk/8)");
  index->add_option("--index", flags->index_spec, "FAISS factory string (Flat, HNSW32, IVF4096,PQ64) or auto");
  // One value per --exclude, so the folders after it stay folders.
  auto* exclude = index
                      ->add_option("--exclude", flags->excludes,
                                   "skip paths matching GLOB (gitignore syntax); repeatable; replaces the globs the "
                                   "index keeps for later runs")
                      ->allow_extra_args(false);
  index->add_flag("--no-exclude", flags->no_exclude, "forget the index's --exclude globs")->excludes(exclude);
  auto* follow = index->add_flag("--follow-symlinks", flags->follow_symlinks,
                                 "follow symbolic links out of the indexed folders too (never into /proc, /sys, "
                                 "/dev); kept for later runs");
  index->add_flag("--no-follow-symlinks", flags->no_follow_symlinks, "stop following links out of the folders")
      ->excludes(follow);
  index
      ->add_option("--max-document-bytes", flags->max_document_bytes,
                   "most a document may unpack to, and most text kept from it (default: 64MiB)")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::PositiveNumber);
  index
      ->add_option("--max-document-chunks", flags->max_document_chunks,
                   "most chunks indexed from one document (default: 10000)")
      ->check(CLI::PositiveNumber);
  index->add_flag("--rebuild", flags->rebuild,
                  "index from scratch into a new database, swapped in when complete (needed to change the model)");
  index->add_flag("--wait", flags->wait, "wait for another running `ksearch index` instead of failing");
  index->add_option("--precision", flags->precision, "encoder precision: fp32 (exact), bf16 or int8 (2-3x faster)")
      ->check(CLI::IsMember({"fp32", "bf16", "int8"}));
  index->add_flag("--json", flags->json, "print the summary as JSON");
  index->add_flag("-q,--quiet", flags->quiet, "no progress and no summary");
  index->callback([flags] { run_index_command(*flags); });

  auto watch_flags = std::make_shared<IndexFlags>();
  CLI::App* watch = app.add_subcommand("watch", "index a folder, then index again whenever its documents change");
  watch->add_option("folders", watch_flags->folders, "folders to index and watch; default: the index's folders");
  watch->add_option("--db", watch_flags->db, "index folder (default: the enclosing index, else FOLDER/.ksearch)");
  auto* watch_model =
      watch->add_option("-m,--model", watch_flags->model, "embedding model for a new index: alias, hub id or folder");
  watch->add_flag("--no-model", watch_flags->no_model, "lexical (keyword) search only")->excludes(watch_model);
  watch->add_option("--exclude", watch_flags->excludes, "skip paths matching GLOB (gitignore syntax); repeatable")
      ->allow_extra_args(false);
  watch
      ->add_option("--debounce", watch_flags->debounce_ms,
                   "milliseconds without changes before indexing (a burst of changes becomes one run)")
      ->capture_default_str();
  watch->add_option("--precision", watch_flags->precision, "encoder precision: fp32, bf16 or int8")
      ->check(CLI::IsMember({"fp32", "bf16", "int8"}));
  watch->add_flag("--json", watch_flags->json, "print each run's summary as one line of JSON");
  watch->add_flag("-q,--quiet", watch_flags->quiet, "no progress and no summaries");
  watch->callback([watch_flags] { run_watch_command(*watch_flags); });

  auto status_db = std::make_shared<std::optional<std::string>>();
  auto status_json = std::make_shared<bool>(false);
  CLI::App* status = app.add_subcommand("status", "show what the index holds");
  status->add_option("--db", *status_db, "index folder (default: nearest .ksearch/ upward)");
  status->add_flag("--json", *status_json, "print JSON");
  status->callback([status_db, status_json] { run_status(*status_db, *status_json); });

  auto doctor_db = std::make_shared<std::optional<std::string>>();
  auto doctor_options = std::make_shared<DoctorOptions>();
  auto doctor_json = std::make_shared<bool>(false);
  CLI::App* doctor = app.add_subcommand("doctor", "check the index for consistency (and repair it)");
  doctor->add_option("--db", *doctor_db, "index folder (default: nearest .ksearch/ upward)");
  doctor->add_flag("--repair", doctor_options->repair,
                   "rebuild what is inconsistent (a damaged database: from the source files)");
  doctor->add_flag("--wait", doctor_options->wait_for_lock, "with --repair: wait for a running writer");
  doctor->add_flag("--json", *doctor_json, "print JSON");
  doctor->callback(
      [doctor_db, doctor_options, doctor_json] { run_doctor_command(*doctor_db, *doctor_options, *doctor_json); });

  auto calibrate_db = std::make_shared<std::optional<std::string>>();
  auto calibrate_precision = std::make_shared<std::string>("fp32");
  auto calibrate_json = std::make_shared<bool>(false);
  auto calibrate_weights = std::make_shared<std::vector<double>>();
  CLI::App* calibrate = app.add_subcommand("calibrate", "fit hybrid fusion to the index's own text");
  calibrate->add_option("--db", *calibrate_db, "index folder (default: nearest .ksearch/ upward)");
  calibrate->add_option("--precision", *calibrate_precision, "encoder precision: fp32, bf16 or int8")
      ->check(CLI::IsMember({"fp32", "bf16", "int8"}));
  calibrate
      ->add_option("--weights", *calibrate_weights,
                   "set the dense and lexical weights by hand (e.g. 1,1 for plain RRF); index runs keep them until the "
                   "next `ksearch calibrate` fits new ones")
      ->expected(2)
      ->delimiter(',');
  calibrate->add_flag("--json", *calibrate_json, "print JSON");
  calibrate->callback([calibrate_db, calibrate_precision, calibrate_weights, calibrate_json] {
    run_calibrate(*calibrate_db, *calibrate_precision, *calibrate_weights, *calibrate_json);
  });

  auto rm_paths = std::make_shared<std::vector<std::string>>();
  auto rm_db = std::make_shared<std::optional<std::string>>();
  auto rm_wait = std::make_shared<bool>(false);
  CLI::App* rm = app.add_subcommand("rm", "remove files (or folders) from the index");
  rm->add_option("paths", *rm_paths, "files or folders")->required();
  rm->add_option("--db", *rm_db, "index folder (default: nearest .ksearch/ upward)");
  rm->add_flag("--wait", *rm_wait, "wait for a running `ksearch index` instead of failing");
  rm->callback([rm_paths, rm_db, rm_wait] { run_rm(*rm_paths, *rm_db, *rm_wait); });
}

}  // namespace ksearch::cli
