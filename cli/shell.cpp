// `ksearch` with no arguments: an interactive prompt.  Line editing and history come from libedit (BSD licensed,
// wide-character aware, so Korean input edits cleanly); without a terminal, lines are read plainly.
#include <editline/readline.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "cli/search_output.h"
#include "cli/terminal.h"

namespace ksearch::cli {
namespace {

constexpr const char* kHelp =
    "  type a question to search; commands:\n"
    "  :k N                 number of results\n"
    "  :mode M              dense, lexical, hybrid or auto\n"
    "  :path GLOB | :path   only paths matching GLOB (no argument: all)\n"
    "  :ext pdf,md | :ext   only these extensions (no argument: all)\n"
    "  :rerank on|off       rerank results with the cross-encoder\n"
    "  :open N              show result N in full\n"
    "  :json on|off         print results as JSON\n"
    "  :help, :quit\n";

std::string trim(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return {};
  return text.substr(begin, text.find_last_not_of(" \t\r\n") - begin + 1);
}

class Prompt {
 public:
  Prompt() : interactive_(is_terminal(stdin) && is_terminal(stdout)) {
    if (const char* home = std::getenv("HOME"); home != nullptr) history_ = std::filesystem::path(home) / ".ksearch_history";
    if (interactive_) {
      using_history();
      if (!history_.empty()) read_history(history_.c_str());
    }
  }
  ~Prompt() {
    if (interactive_ && !history_.empty()) write_history(history_.c_str());
  }
  bool next(std::string& line) {
    if (!interactive_) return static_cast<bool>(std::getline(std::cin, line));
    char* raw = readline("ksearch> ");
    if (raw == nullptr) return false;
    line = raw;
    std::free(raw);
    if (!trim(line).empty()) add_history(line.c_str());
    return true;
  }
  bool interactive() const { return interactive_; }

 private:
  bool interactive_;
  std::filesystem::path history_;
};

}  // namespace

int run_shell(const std::optional<std::string>& db) {
  const auto engine = SearchEngine::open(locate_index(db));
  Prompt prompt;
  const bool color = prompt.interactive();
  SearchOptions options;
  bool json = false;
  SearchResponse last;
  const StoreCounts counts = engine->counts();
  std::cout << "ksearch · " << engine->location().root.string() << " · " << thousands(counts.chunks) << " chunks · "
            << (engine->has_model() ? engine->settings().model_id : std::string("lexical only"))
            << "\ntype a question, :help for commands, Ctrl-D to quit\n";
  if (!engine->notice().empty()) std::cerr << "ksearch: " << engine->notice() << '\n';
  std::string line;
  while (prompt.next(line)) {
    line = trim(line);
    if (line.empty()) continue;
    try {
      if (line.front() != ':') {
        engine->refresh();
        last = engine->search(line, options);
        if (json)
          std::cout << to_json_text(response_json(line, last)) << '\n';
        else
          print_response(line, last, color);
        continue;
      }
      std::istringstream words(line.substr(1));
      std::string command, argument;
      words >> command;
      std::getline(words, argument);
      argument = trim(argument);
      if (command == "q" || command == "quit" || command == "exit") break;
      if (command == "help" || command == "h") {
        std::cout << kHelp;
      } else if (command == "k") {
        options.k = std::max(1, std::atoi(argument.c_str()));
        std::cout << "k = " << options.k << '\n';
      } else if (command == "mode") {
        options.mode = parse_search_mode(argument);
        std::cout << "mode = " << search_mode_name(options.mode) << '\n';
      } else if (command == "path") {
        options.path_glob = argument;
        std::cout << "path = " << (argument.empty() ? "(all)" : argument) << '\n';
      } else if (command == "ext") {
        options.extensions.clear();
        std::istringstream list(argument);
        for (std::string item; std::getline(list, item, ',');)
          if (!trim(item).empty()) options.extensions.push_back(trim(item));
        std::cout << "ext = " << (argument.empty() ? "(all)" : argument) << '\n';
      } else if (command == "rerank") {
        options.rerank = argument == "on";
        std::cout << "rerank = " << (options.rerank ? "on" : "off") << '\n';
      } else if (command == "json") {
        json = argument != "off";
      } else if (command == "open") {
        const auto n = static_cast<std::size_t>(std::atoi(argument.c_str()));
        if (n == 0 || n > last.results.size()) {
          std::cout << "no result " << argument << " (last search had " << last.results.size() << ")\n";
          continue;
        }
        const ChunkRecord& chunk = last.results[n - 1].chunk;
        std::cout << (engine->location().root / chunk.path).string() << ':' << chunk.line_begin << '-'
                  << chunk.line_end << (chunk.page > 0 ? cat(" (page ", chunk.page, ")") : "") << "\n\n"
                  << chunk.text << "\n";
      } else {
        std::cout << "unknown command :" << command << " (:help lists them)\n";
      }
    } catch (const Error& e) {
      std::cerr << "ksearch: " << e.what() << '\n';
    }
  }
  return 0;
}

}  // namespace ksearch::cli
