#include "base/error.h"

#include <cstdio>
#include <cstdlib>

namespace ksearch {

void assertion_failed(const char* expression, const char* file, int line) {
  std::fprintf(stderr, "ksearch: internal error: assertion '%s' failed at %s:%d\n", expression, file, line);
  std::abort();
}

}  // namespace ksearch
