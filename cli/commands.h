// Sub-commands of the ksearch binary.  Each add_* function registers its CLI11 sub-command; the callbacks map flags
// onto the library's option structs and call it (no model, SQL or FAISS code lives here).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "search/index_location.h"
#include "search/searcher.h"

namespace ksearch::cli {

void add_embed_commands(CLI::App& app);   // embed, tokenize
void add_index_commands(CLI::App& app);   // index, watch, status, doctor, calibrate, rm
void add_search_commands(CLI::App& app);  // search, show, open, shell (also `ksearch` alone), eval
void add_serve_commands(CLI::App& app);   // serve, rerank
void add_model_commands(CLI::App& app);   // model pull|list|info|rm
void add_mcp_command(CLI::App& app);      // mcp

// Thrown by a command to end the process with `code` once its output is written: 1 when a search finds nothing (as
// grep and rg do).  main() returns it; usage errors (CLI11's ParseError) exit with 2.
struct ExitStatus {
  int code;
};

// The index named by --db, else the nearest .ksearch/ upward from the working folder.
IndexLocation locate_index(const std::optional<std::string>& db);

// Remembers a search typed at the terminal for `ksearch open N` (search/last_search.h).  An index folder this user
// cannot write is left alone; a failure to write is reported on stderr but does not fail the search.
void remember_search(const IndexLocation& location, std::string_view query, const SearchResponse& response);

// The interactive prompt (`ksearch` with no arguments).
int run_shell(const std::optional<std::string>& db);

}  // namespace ksearch::cli
