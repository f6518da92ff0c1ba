// `ksearch doctor`: checks that an index is consistent, and repairs what can be repaired from the database.
//
//   * SQLite: PRAGMA integrity_check and the FTS5 index's own integrity check (repair: rebuild the FTS index)
//   * every chunk of an embedding index has exactly one vector of the index's dimension, no vector lacks its
//     chunk, and every file marked indexed has its chunks (repair: drop those files so the next `ksearch index`
//     reads them again)
//   * the FAISS file: readable (CRC), same dimension, generation not ahead of the database, and after replaying
//     later commits it holds exactly the stored vectors (repair: rebuild it from the stored vectors)
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

DoctorReport run_doctor(const IndexLocation& location, bool repair);

}  // namespace ksearch
