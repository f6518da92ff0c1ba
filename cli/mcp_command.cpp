// `ksearch mcp`: wires the flags to the MCP server (server/mcp_server.h) on stdin and stdout.
#include <unistd.h>

#include <ext/stdio_filebuf.h>

#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "server/mcp_server.h"

namespace ksearch::cli {
namespace {

struct McpFlags {
  std::optional<std::string> index;
  std::optional<std::string> model;
  bool force = false;
  std::string precision = "fp32";
};

// --index names the index folder (.ksearch) or the folder that was indexed.
IndexLocation mcp_index(const std::optional<std::string>& index) {
  if (index && !std::filesystem::exists(std::filesystem::path(*index) / "index.db") &&
      std::filesystem::exists(std::filesystem::path(*index) / ".ksearch" / "index.db"))
    return locate_index((std::filesystem::path(*index) / ".ksearch").string());
  return locate_index(index);
}

void run_mcp(const McpFlags& flags) {
  McpConfig config;
  config.location = mcp_index(flags.index);
  config.log = &std::cerr;
  EngineOptions engine_options;
  engine_options.model = flags.model;
  engine_options.force_model = flags.force;
  engine_options.precision = parse_precision(flags.precision);
  const IndexLocation location = config.location;
  McpServer server(std::move(config), [location, engine_options] {
    auto engine = SearchEngine::open(location, engine_options);
    if (!engine->notice().empty()) std::cerr << "ksearch mcp: " << engine->notice() << '\n';
    return engine;
  });
  // stdout carries the protocol only: it keeps a duplicate of the descriptor, and descriptor 1 becomes stderr, so
  // nothing else printed by this process (a library's message) can break a message.
  const int protocol = ::dup(STDOUT_FILENO);
  if (protocol < 0 || ::dup2(STDERR_FILENO, STDOUT_FILENO) < 0) fail("mcp: cannot set up stdout");
  __gnu_cxx::stdio_filebuf<char> buffer(protocol, std::ios::out);
  std::ostream out(&buffer);
  std::cerr << "ksearch mcp: serving " << location.root.string() << " (index " << location.dir.string()
            << ") on stdio; MCP " << kMcpLatestVersion << " and " << kMcpPreviousVersion << '\n';
  server.start_engine();  // loads the model while the client initializes; initialize does not wait for it
  server.serve(std::cin, out);
}

}  // namespace

void add_mcp_command(CLI::App& app) {
  auto flags = std::make_shared<McpFlags>();
  CLI::App* mcp = app.add_subcommand("mcp", "Model Context Protocol server on stdio, for agents (search, get, status)");
  mcp->add_option("--index,--db", flags->index,
                  "index folder, or the folder that was indexed (default: nearest .ksearch/ upward)");
  mcp->add_option("-m,--model", flags->model, "embedding model to use instead of the index's (same weights)");
  mcp->add_flag("--force", flags->force, "search with --model although it differs from the index's model");
  mcp->add_option("--precision", flags->precision, "encoder precision: fp32, bf16 or int8")
      ->check(CLI::IsMember({"fp32", "bf16", "int8"}));
  mcp->callback([flags] { run_mcp(*flags); });
}

}  // namespace ksearch::cli
