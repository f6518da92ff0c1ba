// Terminal output helpers: colours only on a TTY, and number formatting for summaries.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace ksearch::cli {

bool is_terminal(std::FILE* stream);

struct Style {
  bool enabled = false;
  std::string bold(std::string_view text) const;
  std::string dim(std::string_view text) const;
  std::string highlight_open() const { return enabled ? "\x1b[1;33m" : ""; }
  std::string highlight_close() const { return enabled ? "\x1b[0m" : ""; }
};

std::string thousands(std::size_t value);  // 12345 -> "12,345"
std::string duration(double seconds);      // 75.2 -> "1:15"

}  // namespace ksearch::cli
