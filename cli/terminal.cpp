#include "cli/terminal.h"

#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>

#include "base/env.h"
#include "base/error.h"

namespace ksearch::cli {

bool is_terminal(std::FILE* stream) {
  return ::isatty(::fileno(stream)) != 0 && !env::text("NO_COLOR") && env::text("TERM").value_or("") != "dumb";
}

namespace {

std::size_t terminal_size(std::FILE* stream, bool columns) {
  winsize size{};
  if (::ioctl(::fileno(stream), TIOCGWINSZ, &size) == 0 && (columns ? size.ws_col : size.ws_row) > 0)
    return columns ? size.ws_col : size.ws_row;
  const auto number = env::positive_integer(columns ? "COLUMNS" : "LINES");
  return number ? static_cast<std::size_t>(std::min(*number, 9999L)) : columns ? 80 : 24;
}

}  // namespace

std::size_t terminal_width(std::FILE* stream) { return terminal_size(stream, true); }
std::size_t terminal_height(std::FILE* stream) { return terminal_size(stream, false); }

void print_paged(const std::string& text) {
  const auto lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
  if (lines + 1 >= terminal_height(stdout) && ::isatty(::fileno(stdout)) != 0) {
    const std::string pager = env::text("PAGER").value_or("less -R");
    std::fflush(stdout);
    // $PAGER is the user's own setting, run by the shell as git and man do.
    if (std::FILE* pipe = ::popen(pager.c_str(), "w"); pipe != nullptr) {
      // Quitting the pager early closes the pipe: that must not kill the shell.
      const auto previous = std::signal(SIGPIPE, SIG_IGN);
      std::fwrite(text.data(), 1, text.size(), pipe);
      const int status = ::pclose(pipe);
      std::signal(SIGPIPE, previous);
      if (status != -1 && !(WIFEXITED(status) && WEXITSTATUS(status) == 127)) return;  // 127: no such pager
    }
  }
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

bool use_color(std::string_view mode, std::FILE* stream) {
  if (mode == "always") return true;
  if (mode == "never") return false;
  if (mode == "auto") return is_terminal(stream);
  fail("--color: unknown value '", mode, "' (use auto, always or never)");
}

std::string Style::bold(std::string_view text) const {
  return enabled ? "\x1b[1m" + std::string(text) + "\x1b[0m" : std::string(text);
}

std::string Style::dim(std::string_view text) const {
  return enabled ? "\x1b[2m" + std::string(text) + "\x1b[0m" : std::string(text);
}

std::string thousands(std::size_t value) {
  const std::string digits = std::to_string(value);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string duration(double seconds) {
  const auto total = static_cast<long>(seconds + 0.5);
  char text[32];
  if (total >= 3600)
    std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", total / 3600, total / 60 % 60, total % 60);
  else
    std::snprintf(text, sizeof text, "%ld:%02ld", total / 60, total % 60);
  return text;
}

}  // namespace ksearch::cli
