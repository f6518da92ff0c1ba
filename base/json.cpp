#include "base/json.h"

#include "base/files.h"

namespace ksearch {

Json parse_json(std::string_view text, std::string_view where) {
  try {
    // Depth is bounded by nlohmann's recursive parser only by the stack; reject absurd nesting first.
    int depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
      const char c = text[i];
      if (in_string) {
        if (c == '\\')
          ++i;
        else if (c == '"')
          in_string = false;
      } else if (c == '"') {
        in_string = true;
      } else if (c == '[' || c == '{') {
        if (++depth > kMaxJsonDepth) fail(where, ": JSON nested deeper than ", kMaxJsonDepth, " levels");
      } else if (c == ']' || c == '}') {
        --depth;
      }
    }
    return Json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    fail(where, ": invalid JSON: ", e.what());
  }
}

std::string to_json_text(const Json& value) { return value.dump(-1, ' ', false, Json::error_handler_t::replace); }

Json read_json_file(const std::filesystem::path& path) { return parse_json(read_file(path), path.string()); }

}  // namespace ksearch
