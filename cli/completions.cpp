#include "cli/completions.h"

#include <iostream>
#include <memory>
#include <sstream>

#include "base/error.h"
#include "base/version.h"

namespace ksearch::cli {
namespace {

struct OptionInfo {
  std::vector<std::string> names;  // "-m", "--model"
  std::string description;
  bool takes_value = false;
  std::vector<std::string> choices;  // from an IsMember check or a transformer's map
  std::string value_name;            // TEXT, INT, ...
};

struct CommandInfo {
  std::vector<std::string> path;  // sub-command names below `ksearch`; empty for ksearch itself
  std::string description;
  std::vector<OptionInfo> options;
  std::vector<std::string> positionals;
  std::vector<std::string> subcommands;  // visible ones
};

bool hidden(const CLI::App& command) { return command.get_group().empty(); }

// CLI11 writes a check's choices into the type name: "TEXT:{fp32,bf16,int8}" (a transformer: "{text->0,...}").
std::vector<std::string> choices_of(const std::string& type_name) {
  const auto open = type_name.find('{');
  const auto close = type_name.find('}', open);
  if (open == std::string::npos || close == std::string::npos) return {};
  std::vector<std::string> choices;
  std::stringstream list(type_name.substr(open + 1, close - open - 1));
  for (std::string item; std::getline(list, item, ',');) choices.push_back(item.substr(0, item.find("->")));
  return choices;
}

void collect(const CLI::App& command, std::vector<std::string> path, std::vector<CommandInfo>& out) {
  CommandInfo info;
  info.path = path;
  info.description = command.get_description();
  for (const CLI::Option* option : command.get_options()) {
    if (option->get_positional()) {
      info.positionals.push_back(option->get_name());
      continue;
    }
    OptionInfo item;
    for (const auto& name : option->get_snames()) item.names.push_back("-" + name);
    for (const auto& name : option->get_lnames()) item.names.push_back("--" + name);
    item.description = option->get_description();
    item.takes_value = option->get_expected_max() != 0;
    const std::string type_name = option->get_type_name();
    item.choices = choices_of(type_name);
    item.value_name = item.takes_value ? type_name.substr(0, type_name.find_first_of(": ")) : "";
    if (item.value_name.empty() && item.takes_value) item.value_name = "VALUE";
    info.options.push_back(std::move(item));
  }
  std::vector<const CLI::App*> children;
  for (const CLI::App* child : command.get_subcommands({}))
    if (!hidden(*child)) {
      info.subcommands.push_back(child->get_name());
      children.push_back(child);
    }
  out.push_back(std::move(info));
  for (const CLI::App* child : children) {
    std::vector<std::string> child_path = path;
    child_path.push_back(child->get_name());
    collect(*child, child_path, out);
  }
}

std::vector<CommandInfo> commands_of(const CLI::App& app) {
  std::vector<CommandInfo> commands;
  collect(app, {}, commands);
  return commands;
}

std::string joined(const std::vector<std::string>& words, const std::string& separator = " ") {
  std::string out;
  for (const auto& word : words) out += (out.empty() ? "" : separator) + word;
  return out;
}

std::string path_key(const CommandInfo& command) { return joined(command.path); }

// Single-quoted for sh, zsh and fish.
std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string fish_quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

// The loop that finds which (nested) sub-command the words before the cursor name: "" for ksearch itself.
std::string sub_command_cases(const std::vector<CommandInfo>& commands, const std::string& indent) {
  std::string cases;
  for (const auto& command : commands)
    for (const auto& sub : command.subcommands)
      cases += indent + "  \"" + path_key(command) + ":" + sub + "\") path=\"" +
               joined({path_key(command), sub}, path_key(command).empty() ? "" : " ") + "\" ;;\n";
  return cases;
}

}  // namespace

std::string bash_completion(const CLI::App& app) {
  const auto commands = commands_of(app);
  std::ostringstream out;
  out << "# bash completion for ksearch, generated from its command definitions (ksearch completions bash)\n"
      << "_ksearch() {\n"
      << "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\" path=\"\" i\n"
      << "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      << "    case \"$path:${COMP_WORDS[i]}\" in\n"
      << sub_command_cases(commands, "    ") << "    esac\n"
      << "  done\n"
      << "  local words=\"\" values=\"\"\n"
      << "  case \"$path\" in\n";
  for (const auto& command : commands) {
    std::vector<std::string> words = command.subcommands;
    std::vector<std::string> valued;
    for (const auto& option : command.options) {
      words.insert(words.end(), option.names.begin(), option.names.end());
      if (option.takes_value) valued.insert(valued.end(), option.names.begin(), option.names.end());
    }
    out << "    \"" << path_key(command) << "\") words=" << quoted(joined(words))
        << " values=" << quoted(joined(valued)) << " ;;\n";
  }
  out << "  esac\n"
      << "  case \"$path:$prev\" in\n";
  for (const auto& command : commands)
    for (const auto& option : command.options)
      if (!option.choices.empty())
        for (const auto& name : option.names)
          out << "    \"" << path_key(command) << ":" << name << "\") COMPREPLY=($(compgen -W "
              << quoted(joined(option.choices)) << " -- \"$cur\")); return ;;\n";
  out << "  esac\n"
      << "  # After an option that takes a value: files (the default), not option names.\n"
      << "  if [[ \" $values \" == *\" $prev \"* ]]; then COMPREPLY=(); return; fi\n"
      << "  if [[ \"$cur\" == -* || ( -z \"$path\" ) ]]; then\n"
      << "    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
      << "  else\n"
      << "    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\") $(compgen -f -- \"$cur\"))\n"
      << "  fi\n"
      << "}\n"
      << "complete -o default -o bashdefault -F _ksearch ksearch\n";
  return out.str();
}

std::string zsh_completion(const CLI::App& app) {
  const auto commands = commands_of(app);
  const auto described = [](const std::string& name, const std::string& description) {
    std::string escaped;
    for (char c : name) escaped += c == ':' ? std::string("\\:") : std::string(1, c);
    return quoted(escaped + ":" + description);
  };
  std::ostringstream out;
  out << "#compdef ksearch\n"
      << "# zsh completion for ksearch, generated from its command definitions (ksearch completions zsh)\n"
      << "_ksearch() {\n"
      << "  local path=\"\" i\n"
      << "  for ((i = 2; i < CURRENT; i++)); do\n"
      << "    case \"$path:${words[i]}\" in\n"
      << sub_command_cases(commands, "    ") << "    esac\n"
      << "  done\n"
      << "  local -a subcommands options values\n"
      << "  case \"$path:${words[CURRENT-1]}\" in\n";
  for (const auto& command : commands)
    for (const auto& option : command.options)
      if (option.takes_value)
        for (const auto& name : option.names)
          out << "    \"" << path_key(command) << ":" << name << "\") "
              << (option.choices.empty() ? std::string("_files") : "compadd -- " + joined(option.choices))
              << "; return ;;\n";
  out << "  esac\n"
      << "  case \"$path\" in\n";
  for (const auto& command : commands) {
    out << "    \"" << path_key(command) << "\")\n";
    out << "      subcommands=(";
    for (const auto& sub : command.subcommands) {
      const auto it = std::find_if(commands.begin(), commands.end(), [&](const CommandInfo& c) {
        return c.path.size() == command.path.size() + 1 && c.path.back() == sub &&
               std::equal(command.path.begin(), command.path.end(), c.path.begin());
      });
      out << " " << described(sub, it != commands.end() ? it->description : "");
    }
    out << ")\n      options=(";
    for (const auto& option : command.options)
      for (const auto& name : option.names) out << " " << described(name, option.description);
    out << ") ;;\n";
  }
  out << "  esac\n"
      << "  if [[ $PREFIX == -* ]]; then\n"
      << "    _describe option options\n"
      << "  elif (( ${#subcommands} )); then\n"
      << "    _describe command subcommands\n"
      << "  else\n"
      << "    _files\n"
      << "  fi\n"
      << "}\n"
      << "_ksearch \"$@\"\n";
  return out.str();
}

std::string fish_completion(const CLI::App& app) {
  const auto commands = commands_of(app);
  // Names used by more than one command (`rm` and `model rm`) are told apart by their parents.
  std::vector<std::string> parents;
  for (const auto& command : commands)
    if (command.path.size() == 1 && !command.subcommands.empty()) parents.push_back(command.path.front());
  const auto condition = [&](const CommandInfo& command) {
    if (command.path.empty()) return std::string("__fish_use_subcommand");
    std::string test;
    for (const auto& name : command.path)
      test += std::string(test.empty() ? "" : "; and ") + "__fish_seen_subcommand_from " + name;
    if (command.path.size() == 1)
      for (const auto& parent : parents)
        if (parent != command.path.front()) test += "; and not __fish_seen_subcommand_from " + parent;
    if (!command.subcommands.empty()) test += "; and not __fish_seen_subcommand_from " + joined(command.subcommands);
    return test;
  };
  std::ostringstream out;
  out << "# fish completion for ksearch, generated from its command definitions (ksearch completions fish)\n";
  for (const auto& command : commands) {
    const std::string when = fish_quoted(condition(command));
    for (const auto& sub : command.subcommands) {
      const auto it = std::find_if(commands.begin(), commands.end(), [&](const CommandInfo& c) {
        return c.path.size() == command.path.size() + 1 && c.path.back() == sub &&
               std::equal(command.path.begin(), command.path.end(), c.path.begin());
      });
      out << "complete -c ksearch -n " << when << " -f -a " << sub << " -d "
          << fish_quoted(it != commands.end() ? it->description : "") << '\n';
    }
    for (const auto& option : command.options) {
      out << "complete -c ksearch -n " << when;
      for (const auto& name : option.names)
        out << (name.starts_with("--") ? " -l " + name.substr(2) : " -s " + name.substr(1));
      if (!option.choices.empty())
        out << " -x -a " << fish_quoted(joined(option.choices));
      else if (option.takes_value)
        out << " -r";
      out << " -d " << fish_quoted(option.description) << '\n';
    }
  }
  return out.str();
}

namespace {

// Text for roff: backslashes escaped, and a line never starting with a control character.
std::string roff(const std::string& text) {
  std::string out;
  for (char c : text) out += c == '\\' ? std::string("\\e") : c == '-' ? std::string("\\-") : std::string(1, c);
  if (!out.empty() && (out.front() == '.' || out.front() == '\'')) out.insert(0, "\\&");
  return out;
}

}  // namespace

std::string man_page(const CLI::App& app) {
  const auto commands = commands_of(app);
  std::ostringstream out;
  out << ".TH KSEARCH 1 \"\" \"ksearch " << kVersion << "\" \"User Commands\"\n"
      << ".SH NAME\nksearch \\- semantic search for Korean documents\n"
      << ".SH SYNOPSIS\n.B ksearch\n.RI [ COMMAND ]\n.RI [ OPTIONS ]\n.RI [ ARGUMENTS ]\n"
      << ".SH DESCRIPTION\n"
      << "ksearch indexes folders of documents (text, Markdown, HTML, PDF, DOCX, HWP and HWPX) and finds passages by\n"
      << "meaning (dense search with an embedding model), by keyword (BM25) or both.  Run without a command, it opens\n"
      << "an interactive prompt on the index found upward from the working folder.\n"
      << ".SH COMMANDS\n";
  for (const auto& command : commands) {
    if (command.path.empty()) continue;
    out << ".SS \"ksearch " << roff(joined(command.path));
    if (!command.subcommands.empty()) out << " COMMAND";
    if (!command.options.empty()) out << " [OPTIONS]";
    for (const auto& positional : command.positionals) out << " " << roff(positional);
    out << "\"\n" << roff(command.description) << "\n";
    for (const auto& option : command.options) {
      if (option.names.front() == "-h" || option.names.front() == "--help") continue;
      out << ".TP\n";
      std::string names;
      for (const auto& name : option.names) names += (names.empty() ? "" : ", ") + ("\\fB" + roff(name) + "\\fR");
      if (option.takes_value)
        names += " \\fI" + roff(option.choices.empty() ? option.value_name : joined(option.choices, "|")) + "\\fR";
      out << names << "\n" << roff(option.description) << "\n";
    }
  }
  out << ".SH EXIT STATUS\n"
      << ".TP\n0\nsuccess\n"
      << ".TP\n1\nnothing matched the search, or an error (the message names the file and value)\n"
      << ".TP\n2\na usage error (unknown command or option, a bad value)\n"
      << ".TP\n130\ninterrupted by Ctrl\\-C during indexing; what was committed is kept and the next run resumes\n"
      << ".SH ENVIRONMENT\n"
      << ".TP\nKSEARCH_API_KEY\nthe key `ksearch serve' requires when \\fB\\-\\-api\\-key\\fR is not given\n"
      << ".SH FILES\n"
      << ".TP\nDIR/.ksearch/\nthe index of folder DIR: index.db (SQLite) and vectors.faiss\n"
      << ".TP\n\\&.ksearchignore\npaths not to index, in gitignore syntax, per folder\n"
      << ".SH SEE ALSO\nThe project's README.md and docs/ (cli.md, http\\-api.md, models.md).\n";
  return out.str();
}

void add_completion_commands(CLI::App& app) {
  auto shell = std::make_shared<std::string>();
  CLI::App* completions = app.add_subcommand("completions", "print a shell completion script");
  completions->group("");
  completions->add_option("shell", *shell, "bash, zsh or fish")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh", "fish"}));
  CLI::App& root = app;
  completions->callback([shell, &root] {
    std::cout << (*shell == "bash"  ? bash_completion(root)
                  : *shell == "zsh" ? zsh_completion(root)
                                    : fish_completion(root));
  });
  CLI::App* manpage = app.add_subcommand("manpage", "print the man page (roff)");
  manpage->group("");
  manpage->callback([&root] { std::cout << man_page(root); });
}

}  // namespace ksearch::cli
