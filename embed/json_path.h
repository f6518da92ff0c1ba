// A node of a parsed JSON file together with its path ("normalizer.normalizers[2].type"), so every error about a
// tokenizer description names the file, the JSON path and the offending value.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/json.h"

namespace ksearch {

class JsonPath {
 public:
  JsonPath(const Json& json, std::shared_ptr<const std::string> file, std::string path);

  const Json& json() const { return *json_; }
  const std::string& path() const { return path_; }
  const std::string& file() const { return *file_; }

  // Present and not null.
  bool has(std::string_view key) const;
  // The member `key`; a missing or null member is an error.
  JsonPath operator[](std::string_view key) const;
  // Elements of the array member `key` (or of this node when `key` is empty).
  std::vector<JsonPath> elements(std::string_view key = {}) const;
  // Members of the object member `key`, as (name, node) pairs.
  std::vector<std::pair<std::string, JsonPath>> members(std::string_view key) const;

  std::string string(std::string_view key) const;
  std::string string_or(std::string_view key, std::string fallback) const;
  bool boolean_or(std::string_view key, bool fallback) const;
  double number(std::string_view key) const;
  std::int64_t integer(std::string_view key) const;
  std::int64_t integer_or(std::string_view key, std::int64_t fallback) const;
  // The "type" member, for the tagged unions of tokenizer.json.
  std::string type() const { return string("type"); }

  template <typename... Parts>
  [[noreturn]] void fail_at(std::string_view key, Parts&&... parts) const {
    fail(*file_, ": ", child_path(key), ": ", std::forward<Parts>(parts)...);
  }
  // `"VALUE" is not supported` at member `key`.
  [[noreturn]] void unsupported(std::string_view key) const;

 private:
  std::string child_path(std::string_view key) const;
  const Json& member(std::string_view key, Json::value_t want, std::string_view want_name) const;

  const Json* json_;
  std::shared_ptr<const std::string> file_;
  std::string path_;
};

}  // namespace ksearch
