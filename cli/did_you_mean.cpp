#include "cli/did_you_mean.h"

#include <algorithm>

namespace ksearch::cli {
namespace {

// The closest of `candidates` within a third of the word's length (at least one edit), or "".
std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(1, word.size() / 3) + 1;
  for (const auto& candidate : candidates)
    if (const std::size_t distance = edit_distance(word, candidate); distance < best_distance)
      best = candidate, best_distance = distance;
  return best;
}

}  // namespace

std::size_t edit_distance(const std::string& a, const std::string& b) {
  // Optimal string alignment distance: Levenshtein plus transposition of neighbours ("serach" -> "search").
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

std::string did_you_mean(CLI::App& app, const std::vector<std::string>& arguments) {
  CLI::App* command = &app;
  std::vector<std::string> names;
  const std::vector<CLI::App*> subcommands = app.get_subcommands({});
  for (const CLI::App* sub : subcommands) names.push_back(sub->get_name());
  for (const auto& argument : arguments) {
    if (argument.empty()) continue;
    if (argument.front() != '-') {
      if (command != &app) continue;  // a positional value of the sub-command
      const auto sub = std::find_if(subcommands.begin(), subcommands.end(),
                                    [&](CLI::App* candidate) { return candidate->check_name(argument); });
      if (sub != subcommands.end()) {
        command = *sub;
        continue;
      }
      if (const std::string name = closest(argument, names); !name.empty())
        return "did you mean `ksearch " + name + "`?";
      return "";
    }
    // Only long flags: a one-letter flag is a single edit from every other one.
    const std::string flag = argument.substr(0, argument.find('='));
    if (!flag.starts_with("--") || flag == "--" || command->get_option_no_throw(flag) != nullptr) continue;
    std::vector<std::string> flags;
    for (const CLI::Option* option : command->get_options())
      for (const auto& name : option->get_lnames()) flags.push_back("--" + name);
    if (const std::string name = closest(flag, flags); !name.empty()) return "did you mean " + name + "?";
  }
  return "";
}

}  // namespace ksearch::cli
