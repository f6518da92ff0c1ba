// JSON parsing with errors that name the file and field (nlohmann::json underneath).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace ksearch {

using Json = nlohmann::json;

// Deeper documents are rejected before parsing, so hostile input cannot exhaust the stack.
inline constexpr int kMaxJsonDepth = 128;

// Compact JSON text; invalid UTF-8 in strings (file names with odd bytes) becomes U+FFFD instead of an exception.
std::string to_json_text(const Json& value);

// Parses a JSON file; throws Error "PATH: invalid JSON: ..." or "PATH: cannot read".
Json read_json_file(const std::filesystem::path& path);

// Parses `text`; `where` names the source in the error message.
Json parse_json(std::string_view text, std::string_view where);

// Typed field access: `where` is the file or request the object came from.
// Missing or wrongly typed fields throw Error "WHERE: field 'KEY' ...".
template <typename T>
T required_field(const Json& object, std::string_view key, std::string_view where) {
  if (!object.is_object()) fail(where, ": expected a JSON object");
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) fail(where, ": missing field '", key, "'");
  try {
    return it->template get<T>();
  } catch (const nlohmann::json::exception&) {
    fail(where, ": field '", key, "' has the wrong type (", it->type_name(), ")");
  }
}

template <typename T>
std::optional<T> optional_field(const Json& object, std::string_view key, std::string_view where) {
  if (!object.is_object()) return std::nullopt;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  try {
    return it->template get<T>();
  } catch (const nlohmann::json::exception&) {
    fail(where, ": field '", key, "' has the wrong type (", it->type_name(), ")");
  }
}

}  // namespace ksearch
