// Environment variables, read one way everywhere: unset and empty mean "not set"; a value that does not parse is an
// Error naming the variable (never a silent default). docs/configuration in the README lists every variable.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace ksearch::env {

// The value, or nullopt when unset or empty.
std::optional<std::string> text(const char* name);
// 1/true/yes/on and 0/false/no/off (any case); anything else throws.
std::optional<bool> flag(const char* name);
// A whole number ≥ 1; anything else throws.
std::optional<long> positive_integer(const char* name);
// $HOME, or an empty path when unset.
std::filesystem::path home();

}  // namespace ksearch::env
