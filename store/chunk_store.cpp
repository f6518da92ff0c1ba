#include "store/chunk_store.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <unordered_map>

#include "base/error.h"
#include "base/json.h"
#include "store/fts.h"
#include "store/rescore.h"

namespace ksearch {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  path TEXT NOT NULL UNIQUE,
  size INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  hash TEXT NOT NULL,
  status TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  chars INTEGER NOT NULL DEFAULT 0,
  pages INTEGER NOT NULL DEFAULT 0,
  indexed_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS chunks(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
  ordinal INTEGER NOT NULL,
  byte_begin INTEGER NOT NULL,
  byte_end INTEGER NOT NULL,
  line_begin INTEGER NOT NULL,
  line_end INTEGER NOT NULL,
  page INTEGER NOT NULL,
  tokens INTEGER NOT NULL,
  text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_by_file ON chunks(file_id, ordinal);
CREATE TABLE IF NOT EXISTS vectors(
  chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
  generation INTEGER NOT NULL,
  embedding BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS vectors_by_generation ON vectors(generation);
CREATE TABLE IF NOT EXISTS vector_removals(chunk_id INTEGER NOT NULL, generation INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS commits(generation INTEGER PRIMARY KEY, token TEXT NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
  text, content='chunks', content_rowid='id', tokenize='ksearch');
CREATE TRIGGER IF NOT EXISTS chunks_insert AFTER INSERT ON chunks BEGIN
  INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_delete AFTER DELETE ON chunks BEGIN
  INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER IF NOT EXISTS vectors_delete AFTER DELETE ON vectors BEGIN
  INSERT INTO vector_removals VALUES (old.chunk_id, (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'generation'));
END;
)sql";

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string meta_value(sql::Database& db, const std::string& key) {
  auto statement = db.prepare("SELECT value FROM meta WHERE key = ?1");
  statement.bind(1, key);
  return statement.step() ? statement.column_text(0) : std::string();
}

void set_meta(sql::Database& db, const std::string& key, const std::string& value) {
  db.prepare("INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
      .bind(1, key)
      .bind(2, value)
      .run();
}

// 128 random bits in hex: database ids and commit tokens, which must never repeat.
std::string random_token() {
  std::random_device device;
  std::string out;
  for (int i = 0; i < 4; ++i) {
    char word[9];
    std::snprintf(word, sizeof word, "%08x", static_cast<unsigned>(device()));
    out += word;
  }
  return out;
}

void record_commit(sql::Database& db) {
  db.prepare(
        "INSERT OR REPLACE INTO commits(generation, token) "
        "VALUES ((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'generation'), ?1)")
      .bind(1, random_token())
      .run();
}

// Starts a write: the new generation is recorded first so triggers log removals under it.
void bump_generation(sql::Database& db) {
  db.exec("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'");
  record_commit(db);
}

bool has_table(sql::Database& db, const char* name) {
  auto statement = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1");
  statement.bind(1, name);
  return statement.step();
}

// Re-scores the best kRescoredChunks hits (store/rescore.h) and reorders them; `idf` is each query term's weighted
// idf, as ksearch_bm25 computed it.
void rescore_best_hits(sql::Database& db, const LexicalQuery& query, const std::vector<double>& idf,
                       std::vector<LexicalHit>& hits) {
  if (query.terms.size() != idf.size() || hits.empty()) return;
  TermWeights weights;
  for (std::size_t i = 0; i < idf.size(); ++i) weights.emplace(query.terms[i], idf[i]);
  auto chunk = db.prepare("SELECT c.text, f.path FROM chunks c JOIN files f ON f.id = c.file_id WHERE c.id = ?1");
  const std::size_t rescored = std::min(hits.size(), kRescoredChunks);
  for (std::size_t i = 0; i < rescored; ++i) {
    chunk.reset();
    chunk.bind(1, hits[i].chunk_id);
    if (!chunk.step()) continue;
    hits[i].score += kSentenceWindowWeight * best_sentence_window(chunk.column_text(0), weights) +
                     kFileNameWeight * file_name_match(chunk.column_text(1), weights);
  }
  // Stable: equal scores keep the query's path and position order.
  std::stable_sort(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(rescored),
                   [](const LexicalHit& a, const LexicalHit& b) { return a.score > b.score; });
}

}  // namespace

std::string_view file_status_name(FileStatus status) {
  switch (status) {
    case FileStatus::Indexed:
      return "indexed";
    case FileStatus::Skipped:
      return "skipped";
    case FileStatus::Partial:
      return "partial";
  }
  KSEARCH_ASSERT(false && "unknown FileStatus");
  return {};
}

FileStatus parse_file_status(std::string_view name) {
  for (FileStatus status : {FileStatus::Indexed, FileStatus::Skipped, FileStatus::Partial})
    if (name == file_status_name(status)) return status;
  fail("files.status: unknown file status '", name, "' (expected indexed, skipped or partial)");
}

namespace {

FileRecord read_file_row(const sql::Statement& s) {
  FileRecord file;
  file.id = s.column_int(0);
  file.path = s.column_text(1);
  file.size = s.column_int(2);
  file.mtime_ns = s.column_int(3);
  file.hash = s.column_text(4);
  file.status = parse_file_status(s.column_text(5));
  file.reason = s.column_text(6);
  file.chars = s.column_int(7);
  file.pages = s.column_int(8);
  file.chunks = s.column_int(9);
  return file;
}

constexpr const char* kFileColumns =
    "SELECT f.id, f.path, f.size, f.mtime_ns, f.hash, f.status, f.reason, f.chars, f.pages, "
    "(SELECT COUNT(*) FROM chunks c WHERE c.file_id = f.id) FROM files f ";

ChunkRecord read_chunk_row(const sql::Statement& s) {
  ChunkRecord chunk;
  chunk.id = s.column_int(0);
  chunk.file_id = s.column_int(1);
  chunk.path = s.column_text(2);
  chunk.ordinal = static_cast<int>(s.column_int(3));
  chunk.byte_begin = s.column_int(4);
  chunk.byte_end = s.column_int(5);
  chunk.line_begin = static_cast<int>(s.column_int(6));
  chunk.line_end = static_cast<int>(s.column_int(7));
  chunk.page = static_cast<int>(s.column_int(8));
  chunk.tokens = static_cast<int>(s.column_int(9));
  chunk.text = s.column_text(10);
  return chunk;
}

constexpr const char* kChunkColumns =
    "SELECT c.id, c.file_id, f.path, c.ordinal, c.byte_begin, c.byte_end, c.line_begin, c.line_end, c.page, "
    "c.tokens, c.text FROM chunks c JOIN files f ON f.id = c.file_id ";

}  // namespace

ChunkStore::ChunkStore(const std::filesystem::path& db_path, bool create, sql::Database::Mode mode) {
  if (!create && !std::filesystem::exists(db_path)) fail(db_path.string(), ": no index database");
  db_ = std::make_unique<sql::Database>(db_path, mode);
  register_fts_extensions(*db_);
  if (has_table(*db_, "meta")) {
    const std::string version = meta_value(*db_, "format_version");
    if (version != std::to_string(kStoreFormatVersion))
      fail(db_path.string(), ": index format version '", version, "' is not supported by this ksearch (expects ",
           kStoreFormatVersion, "); re-index with `ksearch index --rebuild`");
    // Indexes from before commit tokens get their table and an id; their vector file is rebuilt once.
    if (mode == sql::Database::Mode::ReadWrite &&
        (!has_table(*db_, "commits") || meta_value(*db_, "database_id").empty())) {
      sql::Transaction transaction(*db_);
      db_->exec(kSchema);
      set_meta(*db_, "database_id", random_token());
      record_commit(*db_);
      transaction.commit();
    }
    check_lexical_tokenizer(create);
    return;
  }
  if (!create || mode == sql::Database::Mode::ReadOnly) fail(db_path.string(), ": not a ksearch index (no meta table)");
  sql::Transaction transaction(*db_);
  db_->exec(kSchema);
  set_meta(*db_, "format_version", std::to_string(kStoreFormatVersion));
  set_meta(*db_, "lexical_tokenizer", std::to_string(kLexicalTokenizerVersion));
  set_meta(*db_, "generation", "0");
  set_meta(*db_, "database_id", random_token());
  record_commit(*db_);
  transaction.commit();
}

void ChunkStore::check_lexical_tokenizer(bool writer) {
  // Indexes from before the tokenizer had a version hold version 1's terms.
  std::string version = meta_value(*db_, "lexical_tokenizer");
  if (version.empty()) version = "1";
  if (version == std::to_string(kLexicalTokenizerVersion)) return;
  if (!writer)
    fail(db_->path().string(), ": the keyword index holds terms of lexical tokenizer version ", version,
         ", this ksearch makes version ", kLexicalTokenizerVersion, "; run `ksearch index` to rebuild it");
  // FTS5 re-reads every chunk's text and tokenizes it anew; the chunks themselves are untouched.
  sql::Transaction transaction(*db_);
  db_->exec("INSERT INTO chunks_fts(chunks_fts) VALUES ('rebuild')");
  set_meta(*db_, "lexical_tokenizer", std::to_string(kLexicalTokenizerVersion));
  transaction.commit();
  rebuilt_lexical_from_ = std::stoi(version);
}

bool ChunkStore::has_settings() const { return !meta_value(*db_, "settings").empty(); }

IndexSettings ChunkStore::settings() const {
  const std::string text = meta_value(*db_, "settings");
  IndexSettings settings;
  if (text.empty()) return settings;
  const Json json = parse_json(text, db_->path().string() + " (meta.settings)");
  settings.model_id = json.value("model_id", "");
  settings.dimension = json.value("dimension", 0);
  settings.architecture = json.value("architecture", "");
  settings.pooling = json.value("pooling", "");
  settings.query_prefix = json.value("query_prefix", "");
  settings.passage_prefix = json.value("passage_prefix", "");
  settings.tokenizer_fingerprint = json.value("tokenizer_fingerprint", "");
  settings.index_spec = json.value("index_spec", "auto");
  settings.chunk_tokens = json.value("chunk_tokens", 0);
  settings.overlap_tokens = json.value("overlap_tokens", 0);
  settings.roots = json.value("roots", std::vector<std::string>{});
  settings.root = json.value("root", "");
  settings.excludes = json.value("excludes", std::vector<std::string>{});
  settings.follow_symlinks = json.value("follow_symlinks", false);
  return settings;
}

void ChunkStore::save_settings(const IndexSettings& settings) {
  const Json json = {{"model_id", settings.model_id},
                     {"dimension", settings.dimension},
                     {"architecture", settings.architecture},
                     {"pooling", settings.pooling},
                     {"query_prefix", settings.query_prefix},
                     {"passage_prefix", settings.passage_prefix},
                     {"tokenizer_fingerprint", settings.tokenizer_fingerprint},
                     {"index_spec", settings.index_spec},
                     {"chunk_tokens", settings.chunk_tokens},
                     {"overlap_tokens", settings.overlap_tokens},
                     {"roots", settings.roots},
                     {"root", settings.root},
                     {"excludes", settings.excludes},
                     {"follow_symlinks", settings.follow_symlinks}};
  sql::Transaction transaction(*db_);
  set_meta(*db_, "settings", json.dump());
  transaction.commit();
}

std::string ChunkStore::fusion_calibration() const { return meta_value(*db_, "fusion_calibration"); }

void ChunkStore::save_fusion_calibration(const std::string& json) { set_meta(*db_, "fusion_calibration", json); }

std::optional<RunRecord> ChunkStore::last_run() const {
  const std::string text = meta_value(*db_, "last_run");
  if (text.empty()) return std::nullopt;
  const Json json = parse_json(text, db_->path().string() + " (meta.last_run)");
  RunRecord run;
  run.started = json.value("started", std::int64_t{0});
  run.finished = json.value("finished", std::int64_t{0});
  run.seconds = json.value("seconds", 0.0);
  run.added = json.value("added", std::int64_t{0});
  run.changed = json.value("changed", std::int64_t{0});
  run.removed = json.value("removed", std::int64_t{0});
  run.unchanged = json.value("unchanged", std::int64_t{0});
  run.skipped = json.value("skipped", std::int64_t{0});
  run.rebuild = json.value("rebuild", false);
  return run;
}

void ChunkStore::save_last_run(const RunRecord& run) {
  const Json json = {{"started", run.started},     {"finished", run.finished}, {"seconds", run.seconds},
                     {"added", run.added},         {"changed", run.changed},   {"removed", run.removed},
                     {"unchanged", run.unchanged}, {"skipped", run.skipped},   {"rebuild", run.rebuild}};
  set_meta(*db_, "last_run", json.dump());
}

std::int64_t ChunkStore::files_left() const {
  const std::string value = meta_value(*db_, "files_left");
  return value.empty() ? 0 : std::stoll(value);
}

void ChunkStore::save_files_left(std::int64_t count) { set_meta(*db_, "files_left", std::to_string(count)); }

std::uint64_t ChunkStore::generation() const {
  return static_cast<std::uint64_t>(std::stoll(meta_value(*db_, "generation")));
}

std::string ChunkStore::commit_stamp(std::uint64_t generation) const {
  if (!has_table(*db_, "commits")) return {};
  auto statement = db_->prepare("SELECT token FROM commits WHERE generation = ?1");
  statement.bind(1, static_cast<std::int64_t>(generation));
  if (!statement.step()) return {};
  const std::string id = meta_value(*db_, "database_id");
  return id.empty() ? std::string() : id + "/" + statement.column_text(0);
}

void ChunkStore::make_durable() {
  auto checkpoint = db_->prepare("PRAGMA wal_checkpoint(FULL)");
  // Row: busy, WAL frames, frames checkpointed.  Busy (a reader on an old snapshot) still leaves the WAL synced.
  while (checkpoint.step()) {
  }
}

std::optional<FileRecord> ChunkStore::find_file(const std::string& path) const {
  auto statement = db_->prepare(std::string(kFileColumns) + "WHERE f.path = ?1");
  statement.bind(1, path);
  if (!statement.step()) return std::nullopt;
  return read_file_row(statement);
}

std::vector<FileRecord> ChunkStore::files() const {
  auto statement = db_->prepare(std::string(kFileColumns) + "ORDER BY f.path");
  std::vector<FileRecord> out;
  while (statement.step()) out.push_back(read_file_row(statement));
  return out;
}

namespace {

// Inserts (replacing any file at the same path) and returns the new file id.
std::int64_t insert_file(sql::Database& db, const FileRecord& f) {
  db.prepare("DELETE FROM files WHERE path = ?1").bind(1, f.path).run();
  auto insert = db.prepare(
      "INSERT INTO files(path, size, mtime_ns, hash, status, reason, chars, pages, indexed_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  insert.bind(1, f.path).bind(2, f.size).bind(3, f.mtime_ns).bind(4, f.hash).bind(5, file_status_name(f.status));
  insert.bind(6, f.reason).bind(7, f.chars).bind(8, f.pages).bind(9, now_seconds()).run();
  return db.last_insert_id();
}

void insert_chunks(sql::Database& db, std::int64_t file_id, std::span<const ChunkRecord> chunks,
                   std::span<const float> embeddings, int dimension, std::int64_t generation) {
  const auto width = static_cast<std::size_t>(dimension);
  KSEARCH_ASSERT(embeddings.empty() || embeddings.size() == chunks.size() * width);
  auto insert_chunk = db.prepare(
      "INSERT INTO chunks(file_id, ordinal, byte_begin, byte_end, line_begin, line_end, page, tokens, text) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  auto insert_vector = db.prepare("INSERT INTO vectors(chunk_id, generation, embedding) VALUES (?1, ?2, ?3)");
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    const ChunkRecord& c = chunks[i];
    insert_chunk.bind(1, file_id).bind(2, c.ordinal).bind(3, c.byte_begin).bind(4, c.byte_end);
    insert_chunk.bind(5, c.line_begin).bind(6, c.line_end).bind(7, c.page).bind(8, c.tokens).bind(9, c.text).run();
    if (embeddings.empty()) continue;
    const std::int64_t chunk_id = db.last_insert_id();
    const auto* bytes = reinterpret_cast<const std::byte*>(embeddings.data() + i * width);
    insert_vector.bind(1, chunk_id).bind(2, generation).bind_blob(3, {bytes, width * sizeof(float)}).run();
  }
}

}  // namespace

void ChunkStore::replace_files(std::span<const FileUpdate> updates, int dimension) {
  if (updates.empty()) return;
  sql::Transaction transaction(*db_);
  bump_generation(*db_);
  const auto generation = static_cast<std::int64_t>(this->generation());
  for (const FileUpdate& update : updates)
    insert_chunks(*db_, insert_file(*db_, update.file), update.chunks, update.embeddings, dimension, generation);
  transaction.commit();
}

std::int64_t ChunkStore::begin_partial_file(const FileRecord& file) {
  sql::Transaction transaction(*db_);
  bump_generation(*db_);
  FileRecord partial = file;
  partial.status = FileStatus::Partial;
  const std::int64_t id = insert_file(*db_, partial);
  transaction.commit();
  return id;
}

void ChunkStore::append_chunks(std::int64_t file_id, std::span<const ChunkRecord> chunks,
                               std::span<const float> embeddings, int dimension) {
  sql::Transaction transaction(*db_);
  bump_generation(*db_);
  insert_chunks(*db_, file_id, chunks, embeddings, dimension, static_cast<std::int64_t>(generation()));
  transaction.commit();
}

void ChunkStore::finish_file(std::int64_t file_id, const FileRecord& file) {
  db_->prepare("UPDATE files SET status = ?2, hash = ?3, reason = ?4, chars = ?5, pages = ?6 WHERE id = ?1")
      .bind(1, file_id)
      .bind(2, file_status_name(file.status))
      .bind(3, file.hash)
      .bind(4, file.reason)
      .bind(5, file.chars)
      .bind(6, file.pages)
      .run();
}

void ChunkStore::touch_file(std::int64_t file_id, std::int64_t size, std::int64_t mtime_ns) {
  db_->prepare("UPDATE files SET size = ?2, mtime_ns = ?3 WHERE id = ?1")
      .bind(1, file_id)
      .bind(2, size)
      .bind(3, mtime_ns)
      .run();
}

std::size_t ChunkStore::remove_files(std::span<const std::string> paths) {
  if (paths.empty()) return 0;
  sql::Transaction transaction(*db_);
  bump_generation(*db_);
  auto remove = db_->prepare("DELETE FROM files WHERE path = ?1");
  std::size_t removed = 0;
  for (const auto& path : paths) {
    remove.bind(1, path);
    remove.run();
    removed += static_cast<std::size_t>(db_->changes());
  }
  transaction.commit();
  return removed;
}

std::vector<ChunkRecord> ChunkStore::chunks(std::span<const std::int64_t> ids) const {
  auto statement = db_->prepare(std::string(kChunkColumns) + "WHERE c.id = ?1");
  std::vector<ChunkRecord> out;
  for (std::int64_t id : ids) {
    statement.bind(1, id);
    if (statement.step()) out.push_back(read_chunk_row(statement));
    statement.reset();
  }
  return out;
}

std::vector<ChunkRecord> ChunkStore::chunks_of_file(std::int64_t file_id) const {
  auto statement = db_->prepare(std::string(kChunkColumns) + "WHERE c.file_id = ?1 ORDER BY c.ordinal");
  statement.bind(1, file_id);
  std::vector<ChunkRecord> out;
  while (statement.step()) out.push_back(read_chunk_row(statement));
  return out;
}

std::vector<ChunkRecord> ChunkStore::sample_chunks(std::size_t count) const {
  // Knuth's multiplicative hash scatters consecutive ids (one file's chunks) over the order.
  auto statement =
      db_->prepare(std::string(kChunkColumns) + "ORDER BY (c.id * 2654435761) % 4294967296, c.id LIMIT ?1");
  statement.bind(1, static_cast<std::int64_t>(count));
  std::vector<ChunkRecord> out;
  while (statement.step()) out.push_back(read_chunk_row(statement));
  return out;
}

std::vector<LexicalHit> ChunkStore::lexical_search(const LexicalQuery& query, std::size_t limit,
                                                   const std::function<bool()>& stop) const {
  if (query.expression.empty() || limit == 0) return {};
  // SQLite calls the handler every 4096 virtual machine steps (about 0.1 ms); non-zero interrupts the statement.
  struct Interruption {
    sqlite3* db;
    bool installed;
    Interruption(sqlite3* handle, const std::function<bool()>& stop) : db(handle), installed(static_cast<bool>(stop)) {
      if (installed)
        sqlite3_progress_handler(
            db, 4096, [](void* check) { return (*static_cast<const std::function<bool()>*>(check))() ? 1 : 0; },
            const_cast<std::function<bool()>*>(&stop));
    }
    ~Interruption() {
      if (installed) sqlite3_progress_handler(db, 0, nullptr, nullptr);
    }
  } interruption(db_->handle(), stop);
  // Equal scores go in path and position order, not in chunk-id order: ids follow the indexing history, and the
  // same folder should rank the same however it came to be indexed. Ties are common, so this is the one query, not
  // a fallback; only matches scoring at least the `limit`-th score are joined to their paths. Each term is scored
  // with its kind's k1 and b (bm25_parameters). The best kRescoredChunks are fetched even for a smaller limit:
  // re-scoring may lift one of them above those that precede it.
  const std::size_t fetch = query.terms.empty() ? limit : std::max(limit, kRescoredChunks);
  std::vector<double> idf;
  auto statement = db_->prepare(
      "WITH matches AS MATERIALIZED (SELECT rowid AS id, ksearch_bm25(chunks_fts, 0.4, 0.4, ?3, ?4) AS score "
      "FROM chunks_fts WHERE chunks_fts MATCH ?1), "
      "cutoff AS (SELECT score FROM matches ORDER BY score DESC LIMIT 1 OFFSET ?2 - 1) "
      "SELECT m.id, m.score FROM matches m JOIN chunks c ON c.id = m.id JOIN files f ON f.id = c.file_id "
      "WHERE m.score >= coalesce((SELECT score FROM cutoff), -9e999) "
      "ORDER BY m.score DESC, f.path, c.ordinal LIMIT ?2");
  std::string weights;
  for (std::size_t i = 0; i < query.weights.size(); ++i) {
    weights += cat(query.weights[i]);
    if (i < query.kinds.size()) {
      const Bm25Parameters parameters = bm25_parameters(query.kinds[i]);
      weights += cat('/', parameters.k1, '/', parameters.b);
    }
    weights += ' ';
  }
  statement.bind(1, query.expression).bind(2, static_cast<std::int64_t>(fetch)).bind(3, weights);
  statement.bind_pointer(4, &idf, kPhraseIdfPointer);
  std::vector<LexicalHit> hits;
  while (statement.step()) hits.push_back({statement.column_int(0), statement.column_double(1)});
  rescore_best_hits(*db_, query, idf, hits);
  if (hits.size() > limit) hits.resize(limit);
  return hits;
}

void ChunkStore::for_each_vector(
    std::uint64_t after, std::size_t batch,
    const std::function<void(std::span<const std::int64_t>, std::span<const float>)>& callback, int dimension) const {
  auto statement = db_->prepare("SELECT chunk_id, embedding FROM vectors WHERE generation > ?1 ORDER BY chunk_id");
  statement.bind(1, static_cast<std::int64_t>(after));
  const auto width = static_cast<std::size_t>(dimension);
  std::vector<std::int64_t> ids;
  std::vector<float> values;
  const auto flush = [&] {
    if (!ids.empty()) callback(ids, values);
    ids.clear();
    values.clear();
  };
  while (statement.step()) {
    const auto blob = statement.column_blob(1);
    if (blob.size() != width * sizeof(float))
      fail(db_->path().string(), ": vector of chunk ", statement.column_int(0), " has ", blob.size(),
           " bytes, expected ", width * sizeof(float), " (run `ksearch doctor`)");
    ids.push_back(statement.column_int(0));
    const std::size_t offset = values.size();
    values.resize(offset + width);
    std::memcpy(values.data() + offset, blob.data(), blob.size());
    if (ids.size() >= batch) flush();
  }
  flush();
}

std::vector<std::int64_t> ChunkStore::removed_since(std::uint64_t after) const {
  auto statement = db_->prepare("SELECT chunk_id FROM vector_removals WHERE generation > ?1");
  statement.bind(1, static_cast<std::int64_t>(after));
  std::vector<std::int64_t> out;
  while (statement.step()) out.push_back(statement.column_int(0));
  return out;
}

void ChunkStore::prune_removals(std::uint64_t up_to) {
  sql::Transaction transaction(*db_);
  db_->prepare("DELETE FROM vector_removals WHERE generation <= ?1").bind(1, static_cast<std::int64_t>(up_to)).run();
  db_->prepare("DELETE FROM commits WHERE generation < ?1").bind(1, static_cast<std::int64_t>(up_to)).run();
  transaction.commit();
}

std::vector<std::pair<std::int64_t, std::vector<float>>> ChunkStore::sample_vectors(std::size_t count,
                                                                                    int dimension) const {
  std::vector<std::pair<std::int64_t, std::vector<float>>> out;
  auto bounds = db_->prepare("SELECT min(chunk_id), max(chunk_id) FROM vectors");
  if (!bounds.step() || bounds.column_is_null(0) || count == 0) return out;
  const std::int64_t low = bounds.column_int(0), high = bounds.column_int(1);
  auto next = db_->prepare("SELECT chunk_id, embedding FROM vectors WHERE chunk_id >= ?1 ORDER BY chunk_id LIMIT 1");
  const auto width = static_cast<std::size_t>(dimension) * sizeof(float);
  for (std::size_t i = 0; i < count; ++i) {
    const std::int64_t from = low + static_cast<std::int64_t>(static_cast<double>(high - low) * static_cast<double>(i) /
                                                              static_cast<double>(count));
    next.bind(1, from);
    if (next.step() && (out.empty() || out.back().first != next.column_int(0))) {
      const auto blob = next.column_blob(1);
      std::vector<float> vector(blob.size() == width ? static_cast<std::size_t>(dimension) : 0);
      if (!vector.empty()) std::memcpy(vector.data(), blob.data(), width);
      out.emplace_back(next.column_int(0), std::move(vector));
    }
    next.reset();
  }
  return out;
}

std::int64_t ChunkStore::chunks_without_vectors() const {
  auto statement =
      db_->prepare("SELECT COUNT(*) FROM chunks c LEFT JOIN vectors v ON v.chunk_id = c.id WHERE v.chunk_id IS NULL");
  statement.step();
  return statement.column_int(0);
}

namespace {

std::vector<std::string> texts(sql::Database& db, const char* query) {
  auto statement = db.prepare(query);
  std::vector<std::string> out;
  while (statement.step()) out.push_back(statement.column_text(0));
  return out;
}

}  // namespace

std::vector<std::string> ChunkStore::files_with_unembedded_chunks() const {
  return texts(*db_,
               "SELECT DISTINCT f.path FROM chunks c JOIN files f ON f.id = c.file_id "
               "LEFT JOIN vectors v ON v.chunk_id = c.id WHERE v.chunk_id IS NULL ORDER BY f.path");
}

std::vector<std::string> ChunkStore::files_with_vectors_not_of_dimension(int dimension) const {
  auto statement = db_->prepare(
      "SELECT DISTINCT f.path FROM vectors v JOIN chunks c ON c.id = v.chunk_id "
      "JOIN files f ON f.id = c.file_id WHERE length(v.embedding) != ?1 ORDER BY f.path");
  statement.bind(1, static_cast<std::int64_t>(dimension) * static_cast<std::int64_t>(sizeof(float)));
  std::vector<std::string> out;
  while (statement.step()) out.push_back(statement.column_text(0));
  return out;
}

std::vector<std::string> ChunkStore::indexed_files_without_chunks() const {
  auto statement = db_->prepare(
      "SELECT f.path FROM files f WHERE f.status = ?1 AND NOT EXISTS "
      "(SELECT 1 FROM chunks c WHERE c.file_id = f.id) ORDER BY f.path");
  statement.bind(1, file_status_name(FileStatus::Indexed));
  std::vector<std::string> out;
  while (statement.step()) out.push_back(statement.column_text(0));
  return out;
}

std::int64_t ChunkStore::orphan_vectors() const {
  auto statement =
      db_->prepare("SELECT COUNT(*) FROM vectors v LEFT JOIN chunks c ON c.id = v.chunk_id WHERE c.id IS NULL");
  statement.step();
  return statement.column_int(0);
}

std::int64_t ChunkStore::delete_orphan_vectors() {
  const std::int64_t orphans = orphan_vectors();
  if (orphans > 0) db_->exec("DELETE FROM vectors WHERE chunk_id NOT IN (SELECT id FROM chunks)");
  return orphans;
}

void ChunkStore::rebuild_keyword_index() { db_->exec("INSERT INTO chunks_fts(chunks_fts) VALUES ('rebuild')"); }

const std::filesystem::path& ChunkStore::path() const { return db_->path(); }

StoreCounts ChunkStore::counts() const {
  auto statement = db_->prepare(
      "SELECT (SELECT COUNT(*) FROM files), (SELECT COUNT(*) FROM files WHERE status = ?1), "
      "(SELECT COUNT(*) FROM files WHERE status = ?2), (SELECT COUNT(*) FROM chunks), "
      "(SELECT COUNT(*) FROM vectors)");
  statement.bind(1, file_status_name(FileStatus::Indexed)).bind(2, file_status_name(FileStatus::Skipped));
  statement.step();
  return {statement.column_int(0), statement.column_int(1), statement.column_int(2), statement.column_int(3),
          statement.column_int(4)};
}

std::vector<std::string> ChunkStore::integrity_problems(std::vector<std::string>& notes) const {
  std::vector<std::string> problems;
  auto statement = db_->prepare("PRAGMA integrity_check");
  while (statement.step()) {
    std::string line = statement.column_text(0);
    if (line != "ok") problems.push_back(std::move(line));
  }
  // FTS5 checks itself only through an INSERT, which a read-only connection may not run: a separate writable
  // connection does it where the files allow one.
  std::unique_ptr<sql::Database> writable;
  sql::Database* checker = db_.get();
  if (sqlite3_db_readonly(db_->handle(), "main") == 1) {
    try {
      writable = std::make_unique<sql::Database>(db_->path(), sql::Database::Mode::ReadWrite);
      register_fts_extensions(*writable);
      checker = writable.get();
    } catch (const Error& e) {
      notes.push_back(cat("full-text index not checked: the index cannot be opened for writing (", e.what(), ")"));
      return problems;
    }
  }
  const int rc =
      sqlite3_exec(checker->handle(), "INSERT INTO chunks_fts(chunks_fts, rank) VALUES ('integrity-check', 1)", nullptr,
                   nullptr, nullptr);
  if (rc == SQLITE_BUSY)
    notes.push_back("full-text index not checked: a writer held the database for 10 s");
  else if (rc != SQLITE_OK)
    problems.push_back(cat("full-text index: ", sqlite3_errmsg(checker->handle())));
  return problems;
}

std::unique_ptr<sql::Transaction> ChunkStore::read_snapshot() const {
  if (sqlite3_get_autocommit(db_->handle()) == 0) return nullptr;
  auto transaction = std::make_unique<sql::Transaction>(*db_, false);
  // A deferred transaction takes its snapshot at the first read.
  db_->prepare("SELECT value FROM meta WHERE key = 'generation'").step();
  return transaction;
}

}  // namespace ksearch
