#include "ingest/zip_archive.h"

#include <zip.h>

#include "ingest/document.h"

namespace ksearch {

ZipArchive::ZipArchive(std::string_view bytes) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  if (source == nullptr) throw SkipFile("damaged ZIP container (cannot read it)");
  archive_ = zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error);
  if (archive_ == nullptr) {
    const std::string reason = zip_error_strerror(&error);
    zip_source_free(source);
    zip_error_fini(&error);
    throw SkipFile("damaged ZIP container (" + reason + ")");
  }
  zip_error_fini(&error);
}

ZipArchive::~ZipArchive() {
  if (archive_ != nullptr) zip_discard(archive_);
}

std::vector<std::string> ZipArchive::names() const {
  std::vector<std::string> out;
  const zip_int64_t count = zip_get_num_entries(archive_, 0);
  for (zip_int64_t i = 0; i < count; ++i)
    if (const char* name = zip_get_name(archive_, static_cast<zip_uint64_t>(i), 0)) out.emplace_back(name);
  return out;
}

std::optional<std::string> ZipArchive::read(const std::string& name, UnpackBudget& budget) const {
  zip_stat_t stat;
  zip_stat_init(&stat);
  if (zip_stat(archive_, name.c_str(), 0, &stat) != 0) return std::nullopt;
  if ((stat.valid & ZIP_STAT_SIZE) == 0) throw SkipFile("ZIP entry " + name + " of unknown size");
  // The declared size bounds what is inflated: zip_fread stops there.
  budget.charge(static_cast<std::size_t>(stat.size));
  zip_file_t* file = zip_fopen(archive_, name.c_str(), 0);
  if (file == nullptr) throw SkipFile("damaged ZIP entry " + name);
  std::string data(static_cast<std::size_t>(stat.size), '\0');
  const zip_int64_t read = zip_fread(file, data.data(), data.size());
  zip_fclose(file);
  if (read < 0 || static_cast<std::size_t>(read) != data.size()) throw SkipFile("damaged ZIP entry " + name);
  return data;
}

}  // namespace ksearch
