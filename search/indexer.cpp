#include "search/indexer.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <new>
#include <set>

#include "base/error.h"
#include "base/files.h"
#include "base/hash.h"
#include "base/utf8.h"
#include "embed/embedder.h"
#include "ingest/chunker.h"
#include "ingest/document.h"
#include "ingest/file_walker.h"
#include "ingest/text_stream.h"
#include "ingest/walked_file.h"
#include "search/index_handle.h"
#include "search/index_settings_plan.h"
#include "search/searcher.h"
#include "search/vector_sync.h"
#include "store/chunk_store.h"

namespace ksearch {
namespace fs = std::filesystem;
namespace {

// Extractions shorter than this (in characters) from files larger than kNearEmptyMinBytes are flagged as near-empty
// (e.g. scanned PDFs, or documents whose text the reader could not find).
constexpr std::int64_t kNearEmptyCharacters = 32;
constexpr std::int64_t kNearEmptyMinBytes = 4096;
// Plain-text files above this size are streamed block by block (bounded memory) and committed in several
// transactions; other formats above kMaxDocumentBytes are skipped.
constexpr std::int64_t kStreamBytes = 32ll << 20;
constexpr std::int64_t kMaxDocumentBytes = 256ll << 20;
constexpr const char* kChangedWhileRead = "changed while being read (indexed again on the next run)";
// A document too costly for the memory this process may use is skipped; the run goes on with the next one.
constexpr const char* kOutOfMemory =
    "out of memory while reading it (lower --max-document-bytes, or give ksearch more memory)";

IndexLocation locate(const IndexOptions& options) {
  if (options.db_dir) {
    std::optional<fs::path> root = options.root;
    if (!root && !options.folders.empty()) root = options.folders.front();
    if (fs::exists(*options.db_dir / "index.db") && !root) {
      try {
        ChunkStore store(*options.db_dir / "index.db", false, sql::Database::Mode::ReadOnly);
        if (const auto saved = store.settings().root; !saved.empty()) root = saved;
      } catch (const sql::DamagedDatabase&) {
        if (!options.rebuild) throw;  // a rebuild replaces it; the root is then the folder above
      }
    }
    return IndexLocation::at(*options.db_dir, root);
  }
  if (options.folders.empty()) return IndexLocation::find_upward(fs::current_path());
  // A single file goes into its folder's index.
  const fs::path target = fs::absolute(options.folders.front()).lexically_normal();
  const fs::path folder = fs::is_directory(target) ? target : target.parent_path();
  // Inside an indexed tree, `index .` updates the enclosing index (as git works from any subfolder): a nested index
  // would hide the parent's from every command run below it.
  if (options.nested || fs::exists(IndexLocation::for_folder(folder).database()))
    return IndexLocation::for_folder(folder);
  for (fs::path above = folder; above != above.parent_path();) {
    above = above.parent_path();
    if (fs::exists(IndexLocation::for_folder(above).database())) return IndexLocation::for_folder(above);
  }
  return IndexLocation::for_folder(folder);
}

struct Plan {
  std::vector<FoundFile> candidates;  // new, or size/mtime changed (content hash decides)
  std::vector<std::string> removed;
  std::size_t unchanged = 0;
};

std::string describe_empty_pages(const std::vector<int>& pages) {
  std::string list;
  for (std::size_t i = 0; i < pages.size() && i < 10; ++i) list += (i ? ", " : "") + std::to_string(pages[i]);
  if (pages.size() > 10) list += cat(", ... (", pages.size(), " pages)");
  return "no extractable text on page(s) " + list + " (scanned images?)";
}

// The fusion weights a user set on the index of `store`, if any; a damaged saved fusion counts as none (it is
// fitted anew).
std::optional<FusionCalibration> fusion_set_by_hand_in(const ChunkStore& store) {
  std::string damaged;
  FusionCalibration saved = saved_fusion_or_plain(store, damaged);
  return saved.by_hand ? std::optional(std::move(saved)) : std::nullopt;
}

class IndexRun {
 public:
  IndexRun(const IndexOptions& options, const std::function<void(const IndexProgress&)>& progress)
      : options_(options), progress_(progress), start_(std::chrono::steady_clock::now()) {}

  IndexSummary run() {
    for (const auto& folder : options_.folders)
      if (!fs::exists(folder)) fail(folder.string(), ": no such file or folder");
    summary_.location = locate(options_);
    fs::create_directories(summary_.location.dir);
    IndexLock lock(summary_.location, options_.wait_for_lock);
    work_ = summary_.location;
    remove_stale_temp_files();
    open_store();
    configure();
    run_record_.started = unix_seconds();
    run_record_.rebuild = rebuilding_;
    store_->save_last_run(run_record_);
    guard_ = std::make_unique<PathGuard>(folders_, settings_.follow_symlinks);
    const WalkResult walk = walk_documents(folders_, summary_.location.root, {excludes_, settings_.follow_symlinks});
    summary_.other_types = walk.other_types;
    summary_.other_extensions.assign(walk.other_extensions.begin(), walk.other_extensions.end());
    for (const auto& skipped : walk.skipped) record_skip(skipped.relative, skipped.reason);
    // A run stopped before its first save of the vector file leaves none: that is part of resuming, not news.
    const bool resuming = !rebuilding_ && store_->files_left() > 0;
    if (embedder_) {
      const bool had_vector_file = fs::exists(work_.vectors());
      VectorState state = load_vectors(*store_, work_, settings_.dimension);
      vectors_ = std::move(state.index);
      if (!state.note.empty() && !rebuilding_ && (had_vector_file || !resuming)) add_notice(state.note);
    }
    Plan plan = make_plan(walk);
    summary_.removed = store_->remove_files(plan.removed);
    summary_.unchanged = plan.unchanged;
    progress_state_.files_total = plan.candidates.size();
    if (const std::size_t left = plan.candidates.size(); resuming && left > 0)
      add_notice(cat("resuming: ", left, left == 1 ? " file" : " files", " left from an interrupted run"));
    if (!plan.candidates.empty()) store_->save_files_left(static_cast<std::int64_t>(plan.candidates.size()));
    last_commit_ = std::chrono::steady_clock::now();
    for (const FoundFile& file : plan.candidates) {
      if (const auto format = format_of_path(file.relative);
          file.size > kStreamBytes && format && is_plain_text(*format)) {
        commit_pending();
        process_large_text(file);
      } else if (auto update = prepare(file)) {
        add(std::move(*update));
      }
    }
    commit_pending();
    finish_vectors();
    if (embedder_ && options_.calibrate_fusion &&
        (summary_.indexed > 0 || summary_.removed > 0 || store_->fusion_calibration().empty())) {
      // Weights the user set stay until `ksearch calibrate` fits new ones; the summary says they were kept.  A
      // damaged saved fusion is fitted anew.
      std::optional<FusionCalibration> saved = fusion_set_by_hand_in(*store_);
      if (rebuilding_ && by_hand_before_rebuild_) {
        if (old_settings_ && old_settings_->model_id == store_->settings().model_id) {
          saved = by_hand_before_rebuild_;
          store_->save_fusion_calibration(fusion_calibration_json(*saved).dump());
        } else {
          add_notice("the fusion weights set by hand were for another model: fitted anew");
        }
      }
      summary_.fusion = saved ? describe_fusion(*saved) : fit_fusion();
    }
    if (store_->files_left() != 0) store_->save_files_left(0);
    summary_.seconds = elapsed();
    save_run_record();
    if (rebuilding_) swap_in();
    return summary_;
  }

 private:
  double elapsed() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

  // A writer killed while saving leaves "NAME.tmp.PID" files, and a killed rebuild its folder; with the lock held,
  // neither is in use.
  void remove_stale_temp_files() {
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(summary_.location.dir, error))
      if (entry.path().filename().string().find(".tmp.") != std::string::npos) fs::remove(entry.path(), error);
    fs::remove_all(summary_.location.rebuild_dir(), error);
  }

  // The existing database, or for --rebuild the old settings (when readable) and a new database beside it.
  void open_store() {
    const fs::path database = summary_.location.database();
    if (!options_.rebuild || !fs::exists(database)) {
      store_ = std::make_unique<ChunkStore>(database, true);
      if (const int old_version = store_->rebuilt_lexical_from(); old_version != 0)
        add_notice(cat("keyword index rebuilt for lexical tokenizer version ", kLexicalTokenizerVersion, " (was ",
                       old_version, ")"));
      if (store_->has_settings()) old_settings_ = store_->settings();
      return;
    }
    try {
      const ChunkStore old(database, false, sql::Database::Mode::ReadOnly);
      if (old.has_settings()) old_settings_ = old.settings();
      by_hand_before_rebuild_ = fusion_set_by_hand_in(old);
    } catch (const Error& e) {
      add_notice(cat("the old index cannot be read (", e.what(), "); rebuilding it from the source files"));
    }
    start_rebuild();
  }

  void start_rebuild() {
    if (store_) by_hand_before_rebuild_ = fusion_set_by_hand_in(*store_);
    store_.reset();
    work_ = IndexLocation{summary_.location.rebuild_dir(), summary_.location.root};
    fs::create_directories(work_.dir);
    store_ = std::make_unique<ChunkStore>(work_.database(), true);
    rebuilding_ = true;
  }

  // The rebuilt folder takes the old one's place in one rename; the old one is then deleted (readers that still
  // have its files open keep reading them until they reopen).
  void swap_in() {
    store_.reset();
    exchange_folders(work_.dir, summary_.location.dir);
    std::error_code error;
    fs::remove_all(work_.dir, error);
  }

  // Refits hybrid fusion on the committed index; an index too small to fit on goes back to plain RRF.
  std::string fit_fusion() {
    EngineOptions engine_options;
    engine_options.embedder = std::shared_ptr<const Embedder>(std::shared_ptr<const Embedder>(), embedder_.get());
    const auto engine = SearchEngine::open(work_, engine_options);  // a rebuild is calibrated before its swap
    const FusionCalibration calibration = calibrate_fusion(*engine, *store_);
    store_->save_fusion_calibration(calibration.fit_queries > 0 ? fusion_calibration_json(calibration).dump() : "");
    return calibration.fit_queries > 0 ? describe_fusion(calibration) : "";
  }

  static std::int64_t unix_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  void save_run_record() {
    run_record_.finished = unix_seconds();
    run_record_.seconds = summary_.seconds;
    run_record_.added = static_cast<std::int64_t>(summary_.added);
    run_record_.changed = static_cast<std::int64_t>(summary_.indexed - summary_.added);
    run_record_.removed = static_cast<std::int64_t>(summary_.removed);
    run_record_.unchanged = static_cast<std::int64_t>(summary_.unchanged);
    run_record_.skipped = static_cast<std::int64_t>(summary_.skipped);
    store_->save_last_run(run_record_);
  }

  void add_notice(const std::string& text) { summary_.notice += (summary_.notice.empty() ? "" : "\n") + text; }

  void record_skip(const std::string& path, const std::string& reason) {
    ++summary_.skipped;
    ++summary_.skip_reasons[reason];
    summary_.skipped_files.emplace_back(path, reason);
  }

  // Model, settings and folders, checked against what the index was built with.
  void configure() {
    const bool fresh = !old_settings_.has_value();
    std::string model_name;
    if (!options_.no_model) {
      if (options_.model)
        model_name = *options_.model;
      else if (!fresh)
        model_name = old_settings_->model_id;
      else
        model_name = std::string(kDefaultEmbeddingModel);
    }
    std::shared_ptr<const Model> model;
    if (!model_name.empty()) {
      try {
        model = options_.loaded_model && options_.loaded_model->spec.id == model_name
                    ? options_.loaded_model
                    : Model::load(model_name, options_.precision);
      } catch (const Error& e) {
        if (options_.model || !fresh) throw;
        add_notice(cat("no embedding model available (", e.what(), ")\nindexing for lexical search only; to add ",
                       "semantic search: ksearch model pull ", kDefaultEmbeddingModel, " && ksearch index --rebuild"));
      }
    }
    IndexSettingsRequest request;
    request.old_settings = old_settings_;
    request.location = summary_.location;
    request.store_has_files = store_->counts().files > 0;
    if (model)
      request.model =
          IndexingModel{model_identity(model->spec, model->tokenizer.fingerprint()), model->spec.default_chunk_tokens,
                        model->spec.max_seq_length, model->spec.query_prefix, model->spec.passage_prefix};
    request.model_option = options_.model;
    for (const auto& folder : options_.folders) request.folders.push_back(fs::absolute(folder));
    request.chunk_tokens = options_.chunk_tokens;
    request.overlap_tokens = options_.overlap_tokens;
    request.index_spec = options_.index_spec;
    request.excludes = options_.excludes;
    request.follow_symlinks = options_.follow_symlinks;
    request.rebuild = options_.rebuild;
    IndexSettingsPlan plan = plan_index_settings(request);
    if (plan.rebuild && !rebuilding_) start_rebuild();
    for (const auto& notice : plan.notices) add_notice(notice);
    settings_ = std::move(plan.settings);
    force_ = plan.force_rechunk;
    folders_ = std::move(plan.folders);
    excludes_ = std::move(plan.walk_excludes);
    store_->save_settings(settings_);

    if (model) {
      EmbedOptions embed_options;
      embed_options.max_tokens = static_cast<std::size_t>(model->spec.max_seq_length);
      embed_options.batch_tokens = options_.batch_tokens;
      embedder_ = std::make_unique<Embedder>(model, embed_options);
      const std::size_t prefix_tokens = model->tokenizer.tokenize_with_offsets(model->spec.passage_prefix).size();
      chunk_options_.max_tokens =
          static_cast<std::size_t>(settings_.chunk_tokens) - 2 - std::min<std::size_t>(prefix_tokens, 8);
    } else {
      chunk_options_.max_tokens = static_cast<std::size_t>(settings_.chunk_tokens) - 2;
    }
    chunk_options_.overlap_tokens = static_cast<std::size_t>(settings_.overlap_tokens);
    summary_.model_id = settings_.model_id;
  }

  Plan make_plan(const WalkResult& walk) {
    Plan plan;
    std::map<std::string, FileRecord> existing;
    for (auto& record : store_->files()) existing.emplace(record.path, std::move(record));
    std::set<std::string> found;
    for (const FoundFile& file : walk.files) {
      found.insert(file.relative);
      const auto it = existing.find(file.relative);
      if (!force_ && it != existing.end() && it->second.size == file.size && it->second.mtime_ns == file.mtime_ns &&
          it->second.status != FileStatus::Partial)
        ++plan.unchanged;
      else
        plan.candidates.push_back(file);
    }
    for (const auto& [path, record] : existing)
      if (!found.contains(path)) plan.removed.push_back(path);
    return plan;
  }

  std::vector<std::uint32_t> token_offsets(std::string_view text) const {
    if (!embedder_) return estimated_token_offsets(text);
    std::vector<std::uint32_t> offsets;
    for (const auto& span : embedder_->model().tokenizer.tokenize_with_offsets(text)) offsets.push_back(span.begin);
    return offsets;
  }

  // Reads and chunks a file.  Returns nothing when its content is unchanged (its size and mtime are refreshed).
  std::optional<FileUpdate> prepare(const FoundFile& file) {
    progress_state_.current = file.relative;
    report();
    FileUpdate update;
    update.file.path = file.relative;
    update.file.size = file.size;
    update.file.mtime_ns = file.mtime_ns;
    std::string bytes;
    try {
      if (file.size > kMaxDocumentBytes)
        throw Error(cat("too large (", file.size >> 20, " MiB; documents other than plain text are limited to ",
                        kMaxDocumentBytes >> 20, " MiB)"));
      bytes = WalkedFile(file, *guard_).read_all();
    } catch (const Error& e) {
      // The message starts with the path, which the summary already shows.
      std::string reason = e.what();
      if (const std::string prefix = file.absolute.string() + ": "; reason.starts_with(prefix))
        reason.erase(0, prefix.size());
      skip(update, reason);
      return update;
    } catch (const std::bad_alloc&) {
      skip(update, kOutOfMemory);
      return update;
    }
    update.file.hash = sha256_hex(bytes);
    const auto known = store_->find_file(file.relative);
    if (!force_ && known && known->hash == update.file.hash && known->status != FileStatus::Partial) {
      store_->touch_file(known->id, file.size, file.mtime_ns);
      ++summary_.unchanged;
      ++progress_state_.files_done;
      return std::nullopt;
    }
    try {
      const Document document = parse_document(file.absolute, bytes, options_.document_limits);
      auto chunks = chunk_document(
          document, [this](std::string_view text) { return token_offsets(text); }, chunk_options_);
      const std::size_t chunk_limit = options_.document_limits.chunks;
      const bool too_many_chunks = chunks.size() > chunk_limit;
      if (too_many_chunks) chunks.resize(chunk_limit);
      update.file.chars = static_cast<std::int64_t>(utf8::length(document.text));
      update.file.pages = static_cast<std::int64_t>(document.page_starts.size());
      if (chunks.empty()) {
        skip(update,
             document.format == "pdf" ? "no extractable text (scanned PDF without a text layer?)" : "no text content");
        return update;
      }
      update.file.status = FileStatus::Indexed;
      std::vector<std::string> warnings;
      if (!document.warning.empty()) warnings.push_back(document.warning);
      if (too_many_chunks)
        warnings.push_back(
            cat("only the first ", chunk_limit, " chunks indexed (--max-document-chunks raises the limit)"));
      if (!document.empty_pages.empty()) warnings.push_back(describe_empty_pages(document.empty_pages));
      if (update.file.chars < kNearEmptyCharacters && file.size > kNearEmptyMinBytes)
        warnings.push_back(cat("near-empty extraction (", update.file.chars, " characters)"));
      for (const auto& warning : warnings) {
        summary_.warnings.emplace_back(file.relative, warning);
        update.file.reason += (update.file.reason.empty() ? "" : "; ") + warning;
      }
      if (!known) ++summary_.added;
      for (std::size_t i = 0; i < chunks.size(); ++i) {
        const TextChunk& chunk = chunks[i];
        update.chunks.push_back({0, 0, file.relative, static_cast<int>(i), static_cast<std::int64_t>(chunk.byte_begin),
                                 static_cast<std::int64_t>(chunk.byte_end), chunk.line_begin, chunk.line_end,
                                 chunk.page, static_cast<int>(chunk.tokens), chunk.text});
      }
      ++summary_.indexed;
    } catch (const SkipFile& e) {
      skip(update, e.what());
    } catch (const std::bad_alloc&) {
      update.chunks.clear();
      skip(update, kOutOfMemory);
    }
    return update;
  }

  static std::size_t tokens_of(std::span<const ChunkRecord> chunks) {
    std::size_t tokens = 0;
    for (const ChunkRecord& chunk : chunks) tokens += static_cast<std::size_t>(std::max(chunk.tokens, 1));
    return tokens;
  }

  // Queues a prepared file; commits when the queue reaches the commit budget.  A file over the budget by itself is
  // committed in parts.
  void add(FileUpdate update) {
    const std::size_t tokens = tokens_of(update.chunks);
    if (tokens > options_.commit_tokens) {
      commit_pending();
      commit_in_parts(std::move(update));
      return;
    }
    if (pending_tokens_ + tokens > options_.commit_tokens) commit_pending();
    pending_tokens_ += tokens;
    pending_.push_back(std::move(update));
    const double since_commit = std::chrono::duration<double>(std::chrono::steady_clock::now() - last_commit_).count();
    if (since_commit >= options_.commit_seconds) commit_pending();
  }

  // Embeddings of `chunks`, row-major (empty for a lexical-only index).
  std::vector<float> embed(std::span<const ChunkRecord> chunks) {
    if (!embedder_ || chunks.empty()) return {};
    std::vector<std::string> texts;
    for (const ChunkRecord& chunk : chunks) texts.push_back(chunk.text);
    const Embeddings embeddings = embedder_->embed(texts, TextKind::Passage);
    for (std::size_t count : embeddings.token_counts) progress_state_.tokens += count;
    return embeddings.values;
  }

  void committed(std::size_t chunks) {
    if (vectors_) catch_up(*vectors_, *store_);
    progress_state_.chunks += chunks;
    summary_.chunks_added = progress_state_.chunks;
    summary_.tokens_embedded = progress_state_.tokens;
    last_commit_ = std::chrono::steady_clock::now();
    report();
  }

  // Embeds the queued files and commits them in one transaction.
  void commit_pending() {
    if (pending_.empty()) return;
    std::vector<ChunkRecord> all;
    for (const FileUpdate& update : pending_) all.insert(all.end(), update.chunks.begin(), update.chunks.end());
    const std::vector<float> embeddings = embed(all);
    const auto width = static_cast<std::size_t>(std::max(settings_.dimension, 0));
    std::size_t first = 0;  // the update's first chunk in `all`
    for (FileUpdate& update : pending_) {
      if (!embeddings.empty())
        update.embeddings.assign(
            embeddings.begin() + static_cast<std::ptrdiff_t>(first * width),
            embeddings.begin() + static_cast<std::ptrdiff_t>((first + update.chunks.size()) * width));
      first += update.chunks.size();
    }
    store_->replace_files(pending_, settings_.dimension);
    progress_state_.files_done += pending_.size();
    pending_.clear();
    pending_tokens_ = 0;
    committed(all.size());
  }

  // A file larger than the commit budget: its chunks are appended in commits of up to `commit_tokens` tokens under a
  // Partial record.  A record left partial by an interrupted run with the same content (hash) and chunking keeps
  // its chunks, and the run goes on after them: chunking is deterministic, so they are the first chunks again.
  void commit_in_parts(FileUpdate update) {
    const auto known = store_->find_file(update.file.path);
    std::size_t done = 0;
    std::int64_t file_id = 0;
    if (!force_ && known && known->status == FileStatus::Partial && known->hash == update.file.hash &&
        static_cast<std::size_t>(known->chunks) <= update.chunks.size()) {
      file_id = known->id;
      done = static_cast<std::size_t>(known->chunks);
    } else {
      file_id = store_->begin_partial_file(update.file);
    }
    const std::span<const ChunkRecord> chunks(update.chunks);
    while (done < chunks.size()) {
      std::size_t end = done, tokens = 0;
      while (end < chunks.size() &&
             (end == done || tokens + tokens_of(chunks.subspan(end, 1)) <= options_.commit_tokens))
        tokens += tokens_of(chunks.subspan(end++, 1));
      const auto part = chunks.subspan(done, end - done);
      store_->append_chunks(file_id, part, embed(part), settings_.dimension);
      committed(part.size());
      done = end;
    }
    store_->finish_file(file_id, update.file);
    ++progress_state_.files_done;
  }

  // A large plain-text file: hashed, then read, chunked, embedded and committed block by block.
  void process_large_text(const FoundFile& file) {
    progress_state_.current = file.relative;
    report();
    FileRecord record;
    record.path = file.relative;
    record.size = file.size;
    record.mtime_ns = file.mtime_ns;
    try {
      Digest digest;
      {
        WalkedFile walked(file, *guard_);
        std::string buffer(8u << 20, '\0');
        while (const std::size_t n = walked.read(buffer.data(), buffer.size())) digest.update({buffer.data(), n});
      }
      record.hash = digest.hex();
      const auto known = store_->find_file(file.relative);
      if (!force_ && known && known->hash == record.hash && known->status != FileStatus::Partial) {
        store_->touch_file(known->id, file.size, file.mtime_ns);
        ++summary_.unchanged;
        ++progress_state_.files_done;
        return;
      }
      WalkedFile walked(file, *guard_);
      TextStream stream(walked);
      const std::int64_t file_id = store_->begin_partial_file(record);
      std::size_t offset = 0, line = 1, ordinal = 0;
      while (auto block = stream.next()) {
        Document document;
        document.text = std::move(*block);
        auto chunks = chunk_document(
            document, [this](std::string_view text) { return token_offsets(text); }, chunk_options_);
        std::vector<ChunkRecord> records;
        std::vector<std::string> texts;
        for (const TextChunk& chunk : chunks) {
          records.push_back({0, file_id, file.relative, static_cast<int>(ordinal++),
                             static_cast<std::int64_t>(offset + chunk.byte_begin),
                             static_cast<std::int64_t>(offset + chunk.byte_end),
                             static_cast<int>(line + chunk.line_begin - 1), static_cast<int>(line + chunk.line_end - 1),
                             0, static_cast<int>(chunk.tokens), chunk.text});
          texts.push_back(chunk.text);
        }
        std::vector<float> embeddings;
        if (embedder_ && !texts.empty()) {
          const Embeddings embedded = embedder_->embed(texts, TextKind::Passage);
          embeddings = embedded.values;
          for (std::size_t count : embedded.token_counts) progress_state_.tokens += count;
        }
        store_->append_chunks(file_id, records, embeddings, settings_.dimension);
        if (vectors_) catch_up(*vectors_, *store_);
        offset += document.text.size();
        line += static_cast<std::size_t>(std::count(document.text.begin(), document.text.end(), '\n'));
        record.chars += static_cast<std::int64_t>(utf8::length(document.text));
        progress_state_.chunks += records.size();
        summary_.chunks_added = progress_state_.chunks;
        summary_.tokens_embedded = progress_state_.tokens;
        report();
      }
      // The text must come from the bytes that were hashed, or the next run would take the file for unchanged.
      if (stream.bytes_hash() != record.hash) throw SkipFile(kChangedWhileRead);
      record.status = FileStatus::Indexed;
      if (stream.replaced() > 0) {
        record.reason = cat(stream.replaced(), " invalid byte sequence(s) replaced with U+FFFD");
        summary_.warnings.emplace_back(file.relative, record.reason);
      }
      store_->finish_file(file_id, record);
      ++summary_.indexed;
      if (!known) ++summary_.added;
    } catch (const SkipFile& e) {
      skip_large_text(record, e.what());
    } catch (const std::bad_alloc&) {
      skip_large_text(record, kOutOfMemory);
    }
    ++progress_state_.files_done;
  }

  void skip_large_text(const FileRecord& record, const std::string& reason) {
    FileUpdate update;
    update.file = record;
    skip(update, reason);
    store_->replace_files(std::span(&update, 1), settings_.dimension);
  }

  void skip(FileUpdate& update, const std::string& reason) {
    update.file.status = FileStatus::Skipped;
    update.file.reason = reason;
    if (update.file.hash.empty()) update.file.hash = "-";
    record_skip(update.file.path, reason);
  }

  void finish_vectors() {
    if (!vectors_) return;
    const auto live = static_cast<std::size_t>(store_->counts().vectors);
    const std::string wanted = resolve_index_spec(settings_.index_spec, live, settings_.dimension);
    const auto dead =
        static_cast<std::size_t>(std::max<std::int64_t>(0, vectors_->size() - static_cast<std::int64_t>(live)));
    if (wanted != vectors_->spec() || dead * 5 > std::max<std::size_t>(live, 1)) {
      vectors_ = rebuild_vectors(*store_, settings_.dimension, settings_.index_spec);
    }
    save_vectors(*vectors_, *store_, work_);
    summary_.index_spec = vectors_->spec();
  }

  void report() {
    if (!progress_) return;
    progress_state_.elapsed_seconds = elapsed();
    progress_(progress_state_);
  }

  const IndexOptions& options_;
  const std::function<void(const IndexProgress&)>& progress_;
  std::chrono::steady_clock::time_point start_;
  IndexSummary summary_;
  IndexProgress progress_state_;
  IndexLocation work_;  // where files are written: the index folder, or its rebuild folder
  bool rebuilding_ = false;
  std::optional<IndexSettings> old_settings_;                // the index's settings before this run, when it had any
  std::optional<FusionCalibration> by_hand_before_rebuild_;  // kept by a rebuild for the same model
  std::unique_ptr<ChunkStore> store_;
  std::vector<FileUpdate> pending_;  // prepared files waiting for the next commit
  std::size_t pending_tokens_ = 0;
  std::chrono::steady_clock::time_point last_commit_;
  IndexSettings settings_;
  std::unique_ptr<Embedder> embedder_;
  std::shared_ptr<VectorIndex> vectors_;
  std::vector<fs::path> folders_;
  std::unique_ptr<PathGuard> guard_;
  std::vector<std::string> excludes_;
  ChunkOptions chunk_options_;
  bool force_ = false;
  RunRecord run_record_;
};

}  // namespace

IndexSummary run_index(const IndexOptions& options, const std::function<void(const IndexProgress&)>& progress) {
  return IndexRun(options, progress).run();
}

FusionCalibration calibrate_index(const IndexLocation& location, Precision precision, bool wait_for_lock,
                                  std::optional<FusionWeights> by_hand) {
  const std::optional<FusionCalibration> set = by_hand ? std::optional(fusion_set_by_hand(*by_hand)) : std::nullopt;
  IndexLock lock(location, wait_for_lock);
  if (set) {  // two numbers to save: the model need not be loaded
    ChunkStore store(location.database(), true);
    if (store.settings().model_id.empty())
      fail(location.dir.string(), ": the index has no embedding model (lexical only); nothing to weigh");
    store.save_fusion_calibration(fusion_calibration_json(*set).dump());
    return *set;
  }
  EngineOptions engine_options;
  engine_options.precision = precision;
  const auto engine = SearchEngine::open(location, engine_options);
  if (!engine->has_model())
    fail(location.dir.string(), ": ",
         engine->notice().empty() ? "the index has no embedding model (lexical only)" : engine->notice(),
         "; nothing to calibrate");
  ChunkStore store(location.database(), true);
  const FusionCalibration calibration = calibrate_fusion(*engine, store);
  if (calibration.fit_queries == 0)
    fail(location.dir.string(), ": too few chunks with a usable sentence to fit the fusion on");
  store.save_fusion_calibration(fusion_calibration_json(calibration).dump());
  return calibration;
}

}  // namespace ksearch
