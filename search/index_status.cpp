#include "search/index_status.h"

#include <filesystem>

#include "search/index_handle.h"

namespace ksearch {
namespace fs = std::filesystem;

IndexStatus index_status(const IndexLocation& location) {
  IndexStatus status;
  status.location = location;
  const ChunkStore store(location.database(), false, sql::Database::Mode::ReadOnly);
  const auto snapshot = store.read_snapshot();
  status.settings = store.settings();
  status.counts = store.counts();
  status.generation = store.generation();
  status.fusion = saved_fusion(store);
  std::error_code error;
  status.database_bytes = fs::file_size(location.database(), error);
  if (error) status.database_bytes = 0;
  status.vector_file_bytes = fs::file_size(location.vectors(), error);
  if (error) status.vector_file_bytes = 0;
  return status;
}

}  // namespace ksearch
