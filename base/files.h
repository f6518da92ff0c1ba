// Small file-system helpers with error messages that name the path.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace ksearch {

// Reads a whole file, or its first `limit` bytes; throws Error "PATH: cannot read: REASON".
std::string read_file(const std::filesystem::path& path, std::size_t limit = std::string::npos);

// Writes `data` so that `path` holds either its old content or all of `data`, never a mix:
// temp file in the same folder, fsync, rename, fsync of the folder.
void write_file_atomically(const std::filesystem::path& path, std::string_view data);
// The same for content that lies in several buffers, written in order.
void write_file_atomically(const std::filesystem::path& path, std::span<const std::span<const std::byte>> pieces);

// fsync of a file or folder by path.
void sync_path(const std::filesystem::path& path);

}  // namespace ksearch
