#include "search/doctor.h"

#include <set>

#include "base/error.h"
#include "search/vector_sync.h"
#include "store/chunk_store.h"

namespace ksearch {
namespace {

std::int64_t count(sql::Database& db, const char* sql) {
  auto statement = db.prepare(sql);
  statement.step();
  return statement.column_int(0);
}

std::vector<std::string> paths(sql::Database& db, const char* sql) {
  auto statement = db.prepare(sql);
  std::vector<std::string> out;
  while (statement.step()) out.push_back(statement.column_text(0));
  return out;
}

// The consistency checks; `report` collects problems.  Returns files that must be indexed again.
std::vector<std::string> check_database(ChunkStore& store, DoctorReport& report) {
  sql::Database& db = store.database();
  for (const auto& problem : store.integrity_problems()) report.problems.push_back("database: " + problem);
  const IndexSettings settings = store.settings();
  std::set<std::string> redo;
  if (!settings.model_id.empty()) {
    for (const auto& path : paths(db, "SELECT DISTINCT f.path FROM chunks c JOIN files f ON f.id = c.file_id "
                                      "LEFT JOIN vectors v ON v.chunk_id = c.id WHERE v.chunk_id IS NULL")) {
      report.problems.push_back("chunks without a vector in " + path);
      redo.insert(path);
    }
    auto wrong = db.prepare("SELECT DISTINCT f.path FROM vectors v JOIN chunks c ON c.id = v.chunk_id "
                            "JOIN files f ON f.id = c.file_id WHERE length(v.embedding) != ?1");
    wrong.bind(1, static_cast<std::int64_t>(settings.dimension) * 4);
    while (wrong.step()) {
      report.problems.push_back("vectors of the wrong dimension in " + wrong.column_text(0));
      redo.insert(wrong.column_text(0));
    }
  } else if (const auto stray = count(db, "SELECT COUNT(*) FROM vectors"); stray > 0) {
    report.problems.push_back(cat(stray, " vectors in an index without a model"));
  }
  if (const auto orphans = count(db, "SELECT COUNT(*) FROM vectors v LEFT JOIN chunks c ON c.id = v.chunk_id "
                                     "WHERE c.id IS NULL");
      orphans > 0)
    report.problems.push_back(cat(orphans, " vectors without a chunk"));
  for (const auto& path : paths(db, "SELECT f.path FROM files f WHERE f.status = 'indexed' AND NOT EXISTS "
                                    "(SELECT 1 FROM chunks c WHERE c.file_id = f.id)")) {
    report.problems.push_back("file marked indexed has no chunks: " + path);
    redo.insert(path);
  }
  for (const auto& path : paths(db, "SELECT path FROM files WHERE status = 'partial'"))
    report.notes.push_back("interrupted large file, finished by the next `ksearch index`: " + path);
  return {redo.begin(), redo.end()};
}

}  // namespace

DoctorReport run_doctor(const IndexLocation& location, bool repair) {
  DoctorReport report;
  ChunkStore store(location.database(), false);
  std::vector<std::string> redo = check_database(store, report);
  const IndexSettings settings = store.settings();
  if (!settings.model_id.empty()) {
    std::error_code error;
    if (!std::filesystem::exists(location.vectors(), error)) {
      if (store.counts().vectors > 0)
        report.notes.push_back("no vector file yet (a run stopped before its first save): it is rebuilt from the "
                               "database on open, and written by the next `ksearch index` or `doctor --repair`");
    } else {
      try {
        VectorIndex index = VectorIndex::load(location.vectors(), settings.dimension);
        report.vector_file_count = index.size();
        if (index.generation() > store.generation()) {
          report.problems.push_back(cat("vector file generation ", index.generation(), " is ahead of the database (",
                                        store.generation(), ")"));
          } else {
          if (index.generation() < store.generation())
            report.notes.push_back(cat("vector file is at generation ", index.generation(), ", the database at ",
                                       store.generation(), ": later commits are replayed on open"));
          catch_up(index, store);
          const auto stored = store.counts().vectors;
          if (index.supports_remove() ? index.size() != stored : index.size() < stored) {
            report.problems.push_back(cat("vector file holds ", index.size(), " vectors after replay, the database ",
                                          stored));
              } else if (index.size() > stored) {
            report.notes.push_back(cat(index.size() - stored, " deleted vectors still in the HNSW graph (compacted ",
                                       "by `ksearch index` when over 20%)"));
          }
        }
      } catch (const Error& e) {
        report.problems.push_back(e.what());
      }
    }
  }

  if (repair && !report.problems.empty()) {
    const bool fts_damaged = std::any_of(report.problems.begin(), report.problems.end(),
                                         [](const std::string& p) { return p.find("full-text") != std::string::npos; });
    if (fts_damaged) {
      store.database().exec("INSERT INTO chunks_fts(chunks_fts) VALUES ('rebuild')");
      report.repairs.push_back("rebuilt the full-text index from the chunks");
    }
    if (!redo.empty()) {
      store.remove_files(redo);
      report.repairs.push_back(cat("dropped ", redo.size(), " inconsistent file(s); the next `ksearch index` reads them again"));
    }
    if (count(store.database(), "SELECT COUNT(*) FROM vectors v LEFT JOIN chunks c ON c.id = v.chunk_id WHERE c.id IS NULL") > 0) {
      store.database().exec("DELETE FROM vectors WHERE chunk_id NOT IN (SELECT id FROM chunks)");
      report.repairs.push_back("deleted vectors without a chunk");
    }
    if (!settings.model_id.empty()) {
      auto index = rebuild_vectors(store, settings.dimension, settings.index_spec);
      save_vectors(*index, store, location);
      report.vector_file_count = index->size();
      report.repairs.push_back(cat("rebuilt the vector file from ", index->size(), " stored vectors"));
    }
    DoctorReport after;
    check_database(store, after);
    report.healthy_after = after.problems.empty();
  } else {
    report.healthy_after = report.problems.empty();
  }
  const StoreCounts counts = store.counts();
  report.generation = store.generation();
  report.files = counts.files;
  report.chunks = counts.chunks;
  report.vectors = counts.vectors;
  return report;
}

}  // namespace ksearch
