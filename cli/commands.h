// Sub-commands of the ksearch binary.  Each add_* function registers its CLI11 sub-command; the callbacks map flags
// onto the library's option structs and call it (no model, SQL or FAISS code lives here).
#pragma once

#include <CLI/CLI.hpp>

namespace ksearch::cli {

void add_embed_commands(CLI::App& app);  // embed, tokenize

}  // namespace ksearch::cli
