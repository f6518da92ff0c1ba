// Terminal output helpers: whether and how wide the terminal is, colours, and number formatting for summaries.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace ksearch::cli {

bool is_terminal(std::FILE* stream);

// Columns of the terminal `stream` writes to; else $COLUMNS; else 80.
std::size_t terminal_width(std::FILE* stream);

// Rows of the terminal `stream` writes to; else $LINES; else 24.
std::size_t terminal_height(std::FILE* stream);

// Writes `text` to stdout, through $PAGER (default `less -R`, which keeps colours) when it has more lines than the
// terminal; straight out when the pager cannot start.
void print_paged(const std::string& text);

// --color=auto|always|never: auto colours a terminal (not with NO_COLOR or TERM=dumb).  Throws Error for other
// values.
bool use_color(std::string_view mode, std::FILE* stream);

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
