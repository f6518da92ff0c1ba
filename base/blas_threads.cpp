#include "base/blas_threads.h"

#include <dlfcn.h>

namespace ksearch {

void release_blas_threads() {
  // Looked up rather than linked: the BLAS behind libblas.so.3 is the system's choice (OpenBLAS, BLIS, reference).
  using Shutdown = void (*)();
  if (auto shutdown = reinterpret_cast<Shutdown>(::dlsym(RTLD_DEFAULT, "blas_thread_shutdown_"))) shutdown();
}

}  // namespace ksearch
