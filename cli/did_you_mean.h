// "Did you mean" for mistyped sub-commands and flags, from CLI11's own lists of them.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace ksearch::cli {

// Edits (insert, delete, replace, swap of neighbours) turning `a` into `b`.
std::size_t edit_distance(const std::string& a, const std::string& b);

// After `app` failed to parse `arguments` (argv without the program name): a line such as
// "did you mean `ksearch search`?" or "did you mean --json?" for the first unknown sub-command or long flag close to
// a known one, or "".
std::string did_you_mean(CLI::App& app, const std::vector<std::string>& arguments);

}  // namespace ksearch::cli
