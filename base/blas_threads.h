// OpenBLAS (the BLAS FAISS links in Debian) starts its worker threads when the library loads, and each spins for
// about 100 ms before it sleeps.  On a 2-core machine that takes a core from a one-off query for most of its life
// (docs/performance-history.md, "Start-up costs").
#pragma once

namespace ksearch {

// Stops OpenBLAS's idle worker threads (its next multi-threaded call starts them again).  Does nothing with another
// BLAS.  Call at program start.
void release_blas_threads();

}  // namespace ksearch
