// `ksearch` with no arguments: an interactive prompt.  Line editing and history come from libedit (BSD licensed,
// wide-character aware, so Korean input edits cleanly); without a terminal, lines are read plainly.
#include <editline/readline.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "base/display_width.h"
#include "base/env.h"
#include "cli/commands.h"
#include "cli/open_file.h"
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
    "  :open N              open result N (text in $EDITOR at the line, documents in their viewer)\n"
    "  :show N              print result N's passage in full\n"
    "  :json on|off         print results as JSON\n"
    "  :help, :quit         (Ctrl-C cancels the line, Ctrl-D quits; history in ~/.ksearch_history)\n";

volatile std::sig_atomic_t interrupted = 0;

void on_interrupt(int) { interrupted = 1; }

// Ctrl-C sets a flag instead of ending the process; the prompt's read returns so the line is dropped.  No
// SA_RESTART: the blocked read must return for the prompt to notice.
class InterruptGuard {
 public:
  InterruptGuard() {
    struct sigaction action {};
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGINT, &action, &previous_);
  }
  ~InterruptGuard() { ::sigaction(SIGINT, &previous_, nullptr); }
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

 private:
  struct sigaction previous_ {};
};

// A positive count for :k and :open; throws Error naming the command otherwise.
std::size_t positive_number(const std::string& command, const std::string& argument) {
  std::size_t used = 0;
  long long value = 0;
  try {
    value = std::stoll(argument, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != argument.size() || value < 1)
    fail(":", command, " needs a number of 1 or more, not '", argument, "'");
  return static_cast<std::size_t>(value);
}

std::string trim(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return {};
  return text.substr(begin, text.find_last_not_of(" \t\r\n") - begin + 1);
}

class Prompt {
 public:
  Prompt() : interactive_(is_terminal(stdin) && is_terminal(stdout)) {
    if (const std::filesystem::path home = env::home(); !home.empty()) history_ = home / ".ksearch_history";
    if (interactive_) {
      using_history();
      if (!history_.empty()) read_history(history_.c_str());
    }
  }
  ~Prompt() {
    if (interactive_ && !history_.empty()) write_history(history_.c_str());
  }
  // The next line; false at the end of input (Ctrl-D).  Ctrl-C gives an empty line.
  bool next(std::string& line) {
    if (!interactive_) return static_cast<bool>(std::getline(std::cin, line));
    interrupted = 0;
    char* raw = readline("ksearch> ");
    if (raw == nullptr) {
      std::cout << '\n';  // leave the user's shell prompt on a line of its own
      if (!interrupted) return false;
      line.clear();
      return true;
    }
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
  std::optional<InterruptGuard> interrupt_guard;
  if (prompt.interactive()) interrupt_guard.emplace();
  OutputOptions output;
  output.color = prompt.interactive();
  output.working_dir = std::filesystem::current_path();
  const std::filesystem::path& root = engine->location().root;
  SearchOptions options;
  bool json = false;
  SearchResponse last;
  std::string last_query;
  const StoreCounts counts = engine->counts();
  std::cout << "ksearch · " << escape_controls(root.string()) << " · " << thousands(counts.chunks) << " chunks · "
            << (engine->has_model() ? engine->settings().model_id : std::string("lexical only"))
            << "\ntype a question, :help for commands, Ctrl-D to quit\n";
  if (!engine->notice().empty()) std::cerr << "ksearch: " << engine->notice() << '\n';
  const auto result_number = [&](const std::string& command, const std::string& argument) -> const SearchHit& {
    const std::size_t n = positive_number(command, argument);
    if (n > last.results.size()) fail(":", command, " ", n, ": the last search had ", last.results.size(), " results");
    return last.results[n - 1];
  };
  std::string line;
  while (prompt.next(line)) {
    line = trim(line);
    if (line.empty()) continue;
    try {
      if (line.front() != ':') {
        engine->refresh();
        SearchResponse response = engine->search(line, options);
        // Ctrl-C while searching: the search cannot stop midway, but its results are dropped.
        if (interrupted) {
          std::cout << "cancelled\n";
          continue;
        }
        last = std::move(response);
        last_query = line;
        remember_search(engine->location(), last_query, last);
        std::ostringstream text;
        if (json) {
          text << to_json_text(response_json(line, last)) << '\n';
        } else {
          output.width = terminal_width(stdout);
          print_response(text, line, last, root, output);
        }
        if (prompt.interactive())
          print_paged(text.str());
        else
          std::cout << text.str();
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
        options.k = positive_number(command, argument);
        std::cout << "k = " << options.k << '\n';
      } else if (command == "mode") {
        SearchMode mode = SearchMode::Auto;
        try {
          mode = parse_search_mode(argument);
        } catch (const Error&) {
          fail(":mode ", argument, ": use :mode dense, :mode lexical, :mode hybrid or :mode auto");
        }
        if ((mode == SearchMode::Dense || mode == SearchMode::Hybrid) && !engine->has_model())
          fail(":mode ", argument, ": this index has no embedding model; use :mode lexical");
        options.mode = mode;
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
        if (argument != "on" && argument != "off") fail(":rerank ", argument, ": use :rerank on or :rerank off");
        if (argument == "on") engine->reranker();  // loads it now: a missing model is reported here, not later
        options.rerank = argument == "on";
        std::cout << "rerank = " << (options.rerank ? "on" : "off") << '\n';
      } else if (command == "json") {
        if (argument != "on" && argument != "off" && !argument.empty())
          fail(":json ", argument, ": use :json on or :json off");
        json = argument != "off";
      } else if (command == "open") {
        open_result(result_number(command, argument).chunk, last_query, root, output, std::cout);
      } else if (command == "show") {
        const SearchHit& hit = result_number(command, argument);
        const ChunkRecord& chunk = hit.chunk;
        std::cout << shown_path(chunk.path, root, output) << ':' << chunk.line_begin << '-' << chunk.line_end
                  << (chunk.page > 0 ? cat(" (page ", chunk.page, ")") : "") << "\n\n";
        std::istringstream lines(chunk.text);
        std::string text;
        for (std::string passage_line; std::getline(lines, passage_line);) text += escape_controls(passage_line) + '\n';
        std::cout << text;
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
