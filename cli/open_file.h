// Opening a search hit where the user reads it: text in $VISUAL/$EDITOR at the line, other formats (PDF, HWP,
// DOCX, ...) in the desktop's viewer through xdg-open.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace ksearch::cli {

// The command that opens `file` at `line` (1-based), as an argument vector (no shell: file names are untrusted).
// Text formats: $VISUAL, else $EDITOR, else vi, with +LINE; other formats: xdg-open FILE.
std::vector<std::string> open_command(const std::filesystem::path& file, int line);

// Runs open_command() in the foreground and waits for it; throws Error when it cannot start or fails.
void open_file(const std::filesystem::path& file, int line);

}  // namespace ksearch::cli
