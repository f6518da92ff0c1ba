#include "cli/input_lines.h"

#include <fstream>
#include <iostream>

#include "base/error.h"
#include "base/json.h"

namespace ksearch::cli {

std::vector<std::string> read_inputs(const std::string& path, InputFormat format) {
  std::ifstream file;
  const bool from_stdin = path.empty() || path == "-";
  if (!from_stdin) {
    file.open(path, std::ios::binary);
    if (!file) fail(path, ": cannot open");
  }
  std::istream& in = from_stdin ? std::cin : file;
  const std::string name = from_stdin ? "<stdin>" : path;
  std::vector<std::string> inputs;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (format == InputFormat::Text) {
      inputs.push_back(std::move(line));
      continue;
    }
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const std::string where = cat(name, ":", number);
    const Json value = parse_json(line, where);
    if (value.is_string()) {
      inputs.push_back(value.get<std::string>());
    } else if (value.is_object()) {
      inputs.push_back(required_field<std::string>(value, "text", where));
    } else {
      fail(where, ": expected a JSON string or an object with a \"text\" field");
    }
  }
  return inputs;
}

}  // namespace ksearch::cli
