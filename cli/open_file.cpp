#include "cli/open_file.h"

#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "base/env.h"
#include "base/error.h"
#include "ingest/document.h"
#include "search/hit_location.h"

extern char** environ;

namespace ksearch::cli {
namespace {

// Formats an editor shows as text; the rest are binary documents for a viewer.
bool is_text_format(const std::filesystem::path& file) {
  const auto format = format_of_path(file);
  return format && (is_plain_text(*format) || *format == DocumentFormat::Html);
}

}  // namespace

std::vector<std::string> open_command(const std::filesystem::path& file, int line) {
  if (!is_text_format(file)) return {"xdg-open", file.string()};
  const std::string editor = env::text("VISUAL").value_or(env::text("EDITOR").value_or("vi"));
  // $EDITOR may carry arguments ("code -w"): split at spaces, as git does for simple values.
  std::vector<std::string> command;
  std::istringstream words(editor);
  for (std::string word; words >> word;) command.push_back(word);
  command.push_back(cat("+", std::max(line, 1)));
  command.push_back(file.string());
  return command;
}

void open_file(const std::filesystem::path& file, int line) {
  const std::vector<std::string> command = open_command(file, line);
  std::vector<char*> argv;
  for (const auto& word : command) argv.push_back(const_cast<char*>(word.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (const int error = ::posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ); error != 0)
    fail(command[0], ": cannot start (", std::strerror(error), "); set $EDITOR, or install xdg-utils for documents");
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail(command[0], " ", file.string(), ": exited with status ", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

void open_result(const ChunkRecord& chunk, std::string_view query, const std::filesystem::path& root,
                 const OutputOptions& output, std::ostream& out) {
  const std::filesystem::path file = root / chunk.path;
  if (!std::filesystem::exists(file))
    fail(shown_path(chunk.path, root, output), ": no longer exists (deleted or moved since it was indexed; ",
         "`ksearch index` updates the index)");
  const HitLocation location = locate_hit_in_file(chunk, query, root);
  out << "opening " << shown_path(chunk.path, root, output) << ':' << location.line
      << (chunk.page > 0 ? cat(" (page ", chunk.page, ")") : "") << std::endl;
  open_file(file, location.line);
}

}  // namespace ksearch::cli
