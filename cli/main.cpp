// ksearch: semantic search for Korean documents.  A thin front end over the library: flags -> options -> call.
#include <clocale>
#include <iostream>

#include "base/blas_threads.h"
#include "base/error.h"
#include "base/version.h"
#include "cli/commands.h"
#include "cli/completions.h"
#include "cli/did_you_mean.h"

int main(int argc, char** argv) {
  ksearch::release_blas_threads();
  // Only the character type: number formatting and parsing must stay in the "C" locale.
  std::setlocale(LC_CTYPE, "");
  CLI::App app{"ksearch: semantic search for Korean documents"};
  app.require_subcommand(0, 1);
  app.set_version_flag("--version", std::string("ksearch ") + ksearch::kVersion);
  ksearch::cli::add_embed_commands(app);
  ksearch::cli::add_index_commands(app);
  ksearch::cli::add_search_commands(app);
  ksearch::cli::add_serve_commands(app);
  ksearch::cli::add_model_commands(app);
  ksearch::cli::add_mcp_command(app);
  ksearch::cli::add_completion_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with code 0; every real usage error exits with 2, as grep's and rg's do.
    const int code = app.exit(e);
    if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr)
      if (const std::string hint = ksearch::cli::did_you_mean(app, {argv + 1, argv + argc}); !hint.empty())
        std::cerr << hint << '\n';
    return code == 0 ? 0 : 2;
  } catch (const ksearch::cli::ExitStatus& status) {
    return status.code;
  } catch (const ksearch::Error& e) {
    std::cerr << "ksearch: " << e.what() << '\n';
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "ksearch: " << e.what() << '\n';
    return 1;
  }
  if (app.get_subcommands().empty()) {
    try {
      return ksearch::cli::run_shell(std::nullopt);
    } catch (const std::exception& e) {
      std::cerr << "ksearch: " << e.what() << "\n\n" << app.help();
      return 1;
    }
  }
  return 0;
}
