// Reading one input per line (plain text or JSON lines) from a file or stdin.
#pragma once

#include <string>
#include <vector>

namespace ksearch::cli {

enum class InputFormat { Text, Jsonl };

// Reads inputs from `path` ("" or "-" = stdin).  Text: one input per line ("\r\n" endings accepted).
// Jsonl: one JSON string, or object with a "text" field, per line.  Errors name the file and line.
std::vector<std::string> read_inputs(const std::string& path, InputFormat format);

}  // namespace ksearch::cli
