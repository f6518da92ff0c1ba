#include "cli/terminal.h"

#include <unistd.h>

#include <cstdlib>

namespace ksearch::cli {

bool is_terminal(std::FILE* stream) {
  const char* term = std::getenv("TERM");
  return ::isatty(::fileno(stream)) != 0 && std::getenv("NO_COLOR") == nullptr &&
         (term == nullptr || std::string_view(term) != "dumb");
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
