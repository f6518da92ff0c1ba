// Shell completions (bash, zsh, fish) and the man page, generated from the CLI11 definitions of the commands, so
// they list exactly the sub-commands, options and choices the binary accepts.  The build runs the hidden
// `ksearch completions SHELL` and `ksearch manpage` and `cmake --install` installs what they print.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace ksearch::cli {

std::string bash_completion(const CLI::App& app);
std::string zsh_completion(const CLI::App& app);
std::string fish_completion(const CLI::App& app);
// roff for man(1): every visible sub-command with its options, exit status and environment.
std::string man_page(const CLI::App& app);

// Registers the hidden `completions SHELL` and `manpage` sub-commands, which print the above for `app`.
void add_completion_commands(CLI::App& app);

}  // namespace ksearch::cli
