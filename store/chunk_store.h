// The SQLite database of an index: the source of truth for files, chunks, their vectors and the index settings.
//
// Every change is one transaction that also bumps `generation` and records a random token for it; vectors carry the
// generation that added them and deleted vectors are logged with the generation that removed them, so the FAISS file
// (a cache saved at some generation) can be brought up to date incrementally.  The file also carries the database's
// id and the generation's token (commit_stamp()): a database rolled back to a backup, or one that lost its WAL, counts
// the same generations again, but with other tokens, so a file from the lost history is never taken for current.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "store/lexical.h"
#include "store/sqlite.h"

namespace ksearch {

inline constexpr int kStoreFormatVersion = 1;

// Settings an index is built with (the `meta` table).  An index is only usable with the same model and tokenizer.
struct IndexSettings {
  std::string model_id;  // empty: lexical only
  int dimension = 0;
  std::string architecture;  // "bert", "xlm-roberta"; empty in indexes written before it was recorded
  std::string pooling;
  std::string query_prefix;
  std::string passage_prefix;
  std::string tokenizer_fingerprint;
  std::string index_spec = "auto";  // FAISS factory string or "auto"
  int chunk_tokens = 0;
  int overlap_tokens = 0;
  std::vector<std::string> roots;     // indexed folders, relative to the index root
  std::string root;                   // absolute index root when it is not the parent of the index folder (--db)
  std::vector<std::string> excludes;  // --exclude globs, kept for later runs until replaced or cleared
  bool follow_symlinks = false;       // --follow-symlinks, kept likewise
};

// What one `ksearch index` run did (meta.last_run), recorded when it starts and again when it ends: a record that
// never got its end is a run that was interrupted (or is still going).
struct RunRecord {
  std::int64_t started = 0;   // Unix seconds
  std::int64_t finished = 0;  // Unix seconds; 0 while running, and forever when interrupted
  double seconds = 0;
  std::int64_t added = 0, changed = 0, removed = 0, unchanged = 0, skipped = 0;
  bool rebuild = false;
};

enum class FileStatus {
  Indexed,  // its chunks are searchable
  Skipped,  // not indexed; FileRecord::reason says why
  Partial,  // a large file whose indexing was interrupted; the next run finishes it
};
// The name stored in files.status ("indexed", "skipped", "partial").
std::string_view file_status_name(FileStatus status);
// The status stored as `name`; throws Error naming it when it is none of them.
FileStatus parse_file_status(std::string_view name);

struct FileRecord {
  std::int64_t id = 0;
  std::string path;  // relative to the index root
  std::int64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::string hash;
  FileStatus status = FileStatus::Indexed;
  std::string reason;  // why skipped, or a warning ("near-empty extraction")
  std::int64_t chars = 0;
  std::int64_t pages = 0;
  std::int64_t chunks = 0;
};

struct ChunkRecord {
  std::int64_t id = 0;
  std::int64_t file_id = 0;
  std::string path;
  int ordinal = 0;
  std::int64_t byte_begin = 0, byte_end = 0;
  int line_begin = 0, line_end = 0;  // 1-based, inclusive
  int page = 0;                      // 1-based PDF/document page, 0 when the format has none
  int tokens = 0;
  std::string text;
};

// A file's new content for replace_files(): its record and chunks, with one embedding per chunk (or none).
struct FileUpdate {
  FileRecord file;
  std::vector<ChunkRecord> chunks;
  std::vector<float> embeddings;  // chunks.size() x dimension, or empty for lexical-only indexes
};

struct LexicalHit {
  std::int64_t chunk_id;
  double score;  // weighted BM25 (each kind of term with its own k1 and b: bm25_parameters), plus what re-scoring
                 // adds (store/rescore.h); higher is better
};

struct StoreCounts {
  std::int64_t files = 0, indexed_files = 0, skipped_files = 0, chunks = 0, vectors = 0;
};

class ChunkStore {
 public:
  // Opens DB_PATH, creating the schema when `create` and the file is new.  Refuses other format versions.  ReadOnly
  // writes nothing (not even the journal mode), so it works on read-only folders, other users' files and full disks.
  // An index whose keyword terms come from another lexical tokenizer version is refused for reading and, when
  // `create`, has its keyword index rebuilt from the stored chunk texts (see rebuilt_lexical_from()).
  ChunkStore(const std::filesystem::path& db_path, bool create,
             sql::Database::Mode mode = sql::Database::Mode::ReadWrite);
  // The lexical tokenizer version whose keyword index this open replaced, or 0.
  int rebuilt_lexical_from() const { return rebuilt_lexical_from_; }

  bool has_settings() const;
  IndexSettings settings() const;
  void save_settings(const IndexSettings& settings);
  // The fitted hybrid fusion (search/fusion_calibration.h's JSON), empty when none was fitted.
  std::string fusion_calibration() const;
  void save_fusion_calibration(const std::string& json);
  // The last indexing run on record, if any.
  std::optional<RunRecord> last_run() const;
  void save_last_run(const RunRecord& run);
  // Files the running `ksearch index` set out to do; 0 once a run completes, so a count found by the next run means
  // the last one was interrupted.
  std::int64_t files_left() const;
  void save_files_left(std::int64_t count);
  std::uint64_t generation() const;
  // "DATABASE-ID/TOKEN" of a committed generation, empty when it is not on record (pruned, or from before tokens).
  std::string commit_stamp(std::uint64_t generation) const;
  // Checkpoints the WAL into the database file, so what is committed survives the loss of the WAL file.
  void make_durable();

  std::optional<FileRecord> find_file(const std::string& path) const;
  std::vector<FileRecord> files() const;
  // Replaces the chunks (and vectors) of each file in one transaction; files not yet known are inserted.
  void replace_files(std::span<const FileUpdate> updates, int dimension);
  // A file too large to commit at once is written in several transactions: begin_partial_file() replaces it with
  // an empty record of status Partial, append_chunks() adds chunk batches, finish_file() marks it complete.  A run
  // interrupted in between leaves a Partial file, which the next run indexes again.
  std::int64_t begin_partial_file(const FileRecord& file);
  void append_chunks(std::int64_t file_id, std::span<const ChunkRecord> chunks, std::span<const float> embeddings,
                     int dimension);
  void finish_file(std::int64_t file_id, const FileRecord& file);
  // Refreshes size/mtime of an unchanged file (content hash equal) without touching its chunks.
  void touch_file(std::int64_t file_id, std::int64_t size, std::int64_t mtime_ns);
  // Deletes files (and their chunks and vectors).  Returns the number deleted.
  std::size_t remove_files(std::span<const std::string> paths);
  std::vector<ChunkRecord> chunks(std::span<const std::int64_t> ids) const;
  // Up to `count` chunks spread over the index by a fixed hash of their ids: the same index gives the same sample.
  std::vector<ChunkRecord> sample_chunks(std::size_t count) const;
  std::vector<ChunkRecord> chunks_of_file(std::int64_t file_id) const;
  // The `limit` best BM25 matches, best first, the best kRescoredChunks of them re-scored (store/rescore.h); equal
  // scores in path order, then position in the file.  `stop`, when given, is polled while SQLite works; returning
  // true abandons the query (Error "interrupted").
  std::vector<LexicalHit> lexical_search(const LexicalQuery& query, std::size_t limit,
                                         const std::function<bool()>& stop = {}) const;

  // Vectors with generation > `after`, in chunk id order: callback(ids, vectors) per batch.
  void for_each_vector(std::uint64_t after, std::size_t batch,
                       const std::function<void(std::span<const std::int64_t>, std::span<const float>)>& callback,
                       int dimension) const;
  std::vector<std::int64_t> removed_since(std::uint64_t after) const;
  // Drops removal log entries (and commit tokens but its own) the FAISS file saved at `up_to` already reflects.
  void prune_removals(std::uint64_t up_to);
  // Up to `count` stored vectors spread over the chunk ids: (chunk id, vector) pairs.
  std::vector<std::pair<std::int64_t, std::vector<float>>> sample_vectors(std::size_t count, int dimension) const;
  // Chunks lacking a vector (should be none in an embedding index).
  std::int64_t chunks_without_vectors() const;

  // Consistency queries for `ksearch doctor`: paths of files with chunks that lack a vector, with vectors whose
  // length is not `dimension` floats, and of files marked indexed that have no chunks.
  std::vector<std::string> files_with_unembedded_chunks() const;
  std::vector<std::string> files_with_vectors_not_of_dimension(int dimension) const;
  std::vector<std::string> indexed_files_without_chunks() const;
  // Vectors whose chunk is gone; delete_orphan_vectors() drops them and returns how many it dropped.
  std::int64_t orphan_vectors() const;
  std::int64_t delete_orphan_vectors();
  // Rebuilds the FTS5 keyword index from the stored chunk texts.
  void rebuild_keyword_index();

  StoreCounts counts() const;
  // PRAGMA integrity_check and FTS5's own check; empty when healthy.  A check that could not run adds to `notes`.
  std::vector<std::string> integrity_problems(std::vector<std::string>& notes) const;
  // A read transaction so several reads see one snapshot; null inside a snapshot already taken.
  std::unique_ptr<sql::Transaction> read_snapshot() const;

  // The database file, for messages.
  const std::filesystem::path& path() const;

 private:
  void check_lexical_tokenizer(bool writer);

  std::unique_ptr<sql::Database> db_;
  int rebuilt_lexical_from_ = 0;
};

}  // namespace ksearch
