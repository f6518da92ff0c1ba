#include "search/index_status.h"

#include <filesystem>

namespace ksearch {
namespace {

std::string fusion_source(const IndexStatus& status) {
  return status.location.database().string() + " (meta.fusion_calibration)";
}

}  // namespace

IndexStatus read_index_status(const IndexLocation& location) {
  IndexStatus status;
  status.location = location;
  const ChunkStore store(location.database(), false, sql::Database::Mode::ReadOnly);
  status.counts = store.counts();
  status.settings = store.settings();
  status.generation = store.generation();
  status.fusion_json = store.fusion_calibration();
  std::error_code error;
  status.database_bytes = std::filesystem::file_size(location.database(), error);
  if (error) status.database_bytes = 0;
  status.vector_file_bytes = std::filesystem::file_size(location.vectors(), error);
  if (error) status.vector_file_bytes = 0;  // lexical-only indexes have no vector file
  return status;
}

Json index_status_json(const IndexStatus& status) {
  const IndexSettings& settings = status.settings;
  return {{"index", status.location.dir.string()},
          {"root", status.location.root.string()},
          {"files", status.counts.files},
          {"indexed_files", status.counts.indexed_files},
          {"skipped_files", status.counts.skipped_files},
          {"chunks", status.counts.chunks},
          {"vectors", status.counts.vectors},
          {"model", settings.model_id.empty() ? Json() : Json(settings.model_id)},
          {"dimension", settings.dimension},
          {"index_type", settings.model_id.empty() ? std::string("none") : settings.index_spec},
          {"chunk_tokens", settings.chunk_tokens},
          {"overlap_tokens", settings.overlap_tokens},
          {"generation", status.generation},
          {"roots", settings.roots},
          {"database_bytes", status.database_bytes},
          {"vector_file_bytes", status.vector_file_bytes},
          {"fusion", status.fusion_json.empty() ? Json() : parse_json(status.fusion_json, fusion_source(status))}};
}

std::string describe_index_fusion(const IndexStatus& status) {
  if (status.settings.model_id.empty()) return "";
  if (status.fusion_json.empty()) return describe_fusion({});
  const std::string where = fusion_source(status);
  return describe_fusion(fusion_calibration_from_json(parse_json(status.fusion_json, where), where));
}

}  // namespace ksearch
