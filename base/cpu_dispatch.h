// Runtime CPU dispatch for hot loops: the function is compiled for AVX-512, AVX2 and baseline x86-64, and the
// widest the CPU supports is chosen when the program starts (GCC target_clones), so one binary runs everywhere.
#pragma once

#define KSEARCH_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
