// Opening a search hit where the user reads it: text in $VISUAL/$EDITOR at the line, other formats (PDF, HWP,
// DOCX, ...) in the desktop's viewer through xdg-open.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "cli/search_output.h"

namespace ksearch::cli {

// The command that opens `file` at `line` (1-based), as an argument vector (no shell: file names are untrusted).
// Text formats: $VISUAL, else $EDITOR, else vi, with +LINE; other formats: xdg-open FILE.
std::vector<std::string> open_command(const std::filesystem::path& file, int line);

// Runs open_command() in the foreground and waits for it; throws Error when it cannot start or fails.
void open_file(const std::filesystem::path& file, int line);

// Opens a search result (`ksearch open N`, the shell's :open N): at the line that best matches `query`, saying on
// `out` which file, line and page it opens.  Throws Error when the file no longer exists.
void open_result(const ChunkRecord& chunk, std::string_view query, const std::filesystem::path& root,
                 const OutputOptions& output, std::ostream& out);

}  // namespace ksearch::cli
