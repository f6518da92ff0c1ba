// Error conventions for ksearch (see STYLE.md, "two kinds of failure").
//
//  * Bad input or environment (a corrupt file, a missing model, a malformed request) throws ksearch::Error
//    whose message names the file, field and value.  Callers at the edge (CLI, HTTP) turn it into an exit code
//    or a 4xx response.
//  * Broken internal invariants are bugs: KSEARCH_ASSERT aborts with file:line.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace ksearch {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Concatenates any streamable values into a string: cat("tensor ", name, " has ", n, " dims").
template <typename... Parts>
std::string cat(Parts&&... parts) {
  std::ostringstream out;
  (out << ... << std::forward<Parts>(parts));
  return out.str();
}

template <typename... Parts>
[[noreturn]] void fail(Parts&&... parts) {
  throw Error(cat(std::forward<Parts>(parts)...));
}

[[noreturn]] void assertion_failed(const char* expression, const char* file, int line);

}  // namespace ksearch

#define KSEARCH_ASSERT(condition) \
  ((condition) ? static_cast<void>(0) : ::ksearch::assertion_failed(#condition, __FILE__, __LINE__))
