// gitignore-style patterns for .ksearchignore, --exclude and --path filters.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ksearch {

// Shell glob over '/'-separated paths: '*' and '?' stop at '/', '**' crosses folders, "[a-z]" / "[!a-z]" classes,
// '\' escapes.
bool glob_match(std::string_view pattern, std::string_view path);

// The patterns of one .ksearchignore (or a list of --exclude globs), with gitignore semantics: '#' comments, '!'
// negation, a trailing '/' matches folders only, a pattern containing '/' is anchored to the file's folder, others
// match a name at any depth.  The last matching pattern decides.
class IgnoreRules {
 public:
  void add(std::string_view line);
  void add_lines(std::string_view text);
  // `relative` is the path below the folder the rules belong to.  Returns +1 ignore, -1 re-include, 0 no match.
  int decide(std::string_view relative, bool is_directory) const;
  bool empty() const { return rules_.empty(); }

 private:
  struct Rule {
    std::string pattern;
    bool negated, directory_only, anchored;
  };
  std::vector<Rule> rules_;
};

}  // namespace ksearch
