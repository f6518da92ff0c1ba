#include "ingest/glob.h"

namespace ksearch {
namespace {

bool match_class(std::string_view pattern, std::size_t& p, char c) {
  // pattern[p] == '['
  std::size_t i = p + 1;
  bool negate = false;
  if (i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^')) negate = true, ++i;
  bool matched = false;
  const std::size_t first = i;
  for (; i < pattern.size() && (pattern[i] != ']' || i == first); ++i) {
    if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
      if (c >= pattern[i] && c <= pattern[i + 2]) matched = true;
      i += 2;
    } else if (pattern[i] == c) {
      matched = true;
    }
  }
  if (i >= pattern.size()) return false;  // unterminated class: no match
  p = i + 1;
  return matched != negate;
}

bool match(std::string_view pattern, std::size_t p, std::string_view path, std::size_t s, int depth) {
  if (depth > 64) return false;
  while (p < pattern.size()) {
    const char c = pattern[p];
    if (c == '*') {
      const bool double_star = p + 1 < pattern.size() && pattern[p + 1] == '*';
      if (double_star) {
        std::size_t next = p + 2;
        if (next < pattern.size() && pattern[next] == '/') {
          // "**/" matches zero or more whole folders.
          for (std::size_t i = s; i <= path.size(); ++i)
            if ((i == s || path[i - 1] == '/') && match(pattern, next + 1, path, i, depth + 1)) return true;
          return false;
        }
        for (std::size_t i = s; i <= path.size(); ++i)
          if (match(pattern, next, path, i, depth + 1)) return true;
        return false;
      }
      for (std::size_t i = s; i <= path.size(); ++i) {
        if (match(pattern, p + 1, path, i, depth + 1)) return true;
        if (i < path.size() && path[i] == '/') break;
      }
      return false;
    }
    if (s >= path.size()) return false;
    if (c == '?') {
      if (path[s] == '/') return false;
      ++p, ++s;
    } else if (c == '[') {
      if (path[s] == '/' || !match_class(pattern, p, path[s])) return false;
      ++s;
    } else {
      if (c == '\\' && p + 1 < pattern.size()) ++p;
      if (pattern[p] != path[s]) return false;
      ++p, ++s;
    }
  }
  return s == path.size();
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\r' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view path) { return match(pattern, 0, path, 0, 0); }

void IgnoreRules::add(std::string_view line) {
  line = trim(line);
  if (line.empty() || line.front() == '#') return;
  Rule rule{};
  if (line.front() == '!') rule.negated = true, line.remove_prefix(1);
  if (line.starts_with("\\")) line.remove_prefix(1);
  if (!line.empty() && line.back() == '/') rule.directory_only = true, line.remove_suffix(1);
  if (line.starts_with("/")) rule.anchored = true, line.remove_prefix(1);
  if (line.find('/') != std::string_view::npos) rule.anchored = true;
  if (line.empty()) return;
  rule.pattern = std::string(line);
  rules_.push_back(std::move(rule));
}

void IgnoreRules::add_lines(std::string_view text) {
  while (!text.empty()) {
    const auto end = text.find('\n');
    add(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  }
}

int IgnoreRules::decide(std::string_view relative, bool is_directory) const {
  const auto slash = relative.rfind('/');
  const std::string_view name = slash == std::string_view::npos ? relative : relative.substr(slash + 1);
  for (auto it = rules_.rbegin(); it != rules_.rend(); ++it) {
    if (it->directory_only && !is_directory) continue;
    const bool hit = it->anchored ? glob_match(it->pattern, relative) : glob_match(it->pattern, name);
    if (hit) return it->negated ? -1 : 1;
  }
  return 0;
}

}  // namespace ksearch
