// `ksearch doctor`: checks that an index is consistent, and repairs what can be repaired from the database.
//
//   * SQLite: PRAGMA integrity_check and the FTS5 index's own integrity check (repair: rebuild the FTS index)
//   * every chunk of an embedding index has exactly one vector of the index's dimension, no vector lacks its
//     chunk, and every file marked indexed has its chunks (repair: drop those files so the next `ksearch index`
//     reads them again)
//   * the FAISS file: readable (CRC), same dimension, stamped with a commit of this database's history, after
//     replaying later commits it holds exactly the stored vectors, and sampled vectors equal the stored ones
//     (repair: rebuild it from the stored vectors)
//   * a database SQLite reports damaged (repair: index the source folders again into a new database, swapped in when
//     complete; SQLite's own page salvage lives in its shell, not its library)
//
// Checks read one snapshot through a read-only connection, so a writer committing meanwhile causes no false alarm
// and a read-only index can be checked.  --repair takes the writer lock.
#pragma once

#include <string>
#include <vector>

#include "search/index_location.h"

namespace ksearch {

struct DoctorReport {
  std::vector<std::string> problems;  // inconsistencies found (before repair)
  std::vector<std::string> repairs;   // what --repair did
  std::vector<std::string> notes;     // healthy but worth knowing (e.g. vector file behind, replayed on open)
  bool healthy_after = false;         // consistent now (after repairs, if any)
  std::uint64_t generation = 0;
  std::int64_t files = 0, chunks = 0, vectors = 0, vector_file_count = -1;
};

struct DoctorOptions {
  bool repair = false;
  bool wait_for_lock = false;  // --repair waits for a running writer instead of failing
};

DoctorReport run_doctor(const IndexLocation& location, const DoctorOptions& options);

}  // namespace ksearch
