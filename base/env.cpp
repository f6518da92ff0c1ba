#include "base/env.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

#include "base/error.h"

namespace ksearch::env {

std::optional<std::string> text(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

std::optional<bool> flag(const char* name) {
  auto value = text(name);
  if (!value) return std::nullopt;
  std::string lower = *value;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "1" || lower == "true" || lower == "yes" || lower == "on") return true;
  if (lower == "0" || lower == "false" || lower == "no" || lower == "off") return false;
  fail(name, " is '", *value, "': use 1 or 0");
}

std::optional<long> positive_integer(const char* name) {
  auto value = text(name);
  if (!value) return std::nullopt;
  long number = 0;
  const char* end = value->data() + value->size();
  const auto [stop, error] = std::from_chars(value->data(), end, number);
  if (error != std::errc() || stop != end || number < 1)
    fail(name, " is '", *value, "': use a whole number of 1 or more");
  return number;
}

std::filesystem::path home() { return text("HOME").value_or(""); }

}  // namespace ksearch::env
