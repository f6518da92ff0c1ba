#!/usr/bin/env bash
# Builds ksearch and runs the whole test suite (CTest + GoogleTest).  With CI=true (or KSEARCH_SANITIZERS=1) it then
# builds again with AddressSanitizer + UndefinedBehaviorSanitizer and runs the whole suite under them; in CI a compiler
# warning in the Release build fails it (-DKSEARCH_WERROR=ON).
set -euo pipefail
cd "$(dirname "$0")/.."
werror=OFF
[ "${CI:-}" = "true" ] && werror=ON
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DKSEARCH_WERROR=$werror
cmake --build build
ctest --test-dir build --output-on-failure -j2
if [ "${CI:-}" = "true" ] || [ "${KSEARCH_SANITIZERS:-}" = "1" ]; then
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKSEARCH_SANITIZE=ON -DKSEARCH_BUILD_BENCH=OFF
  cmake --build build-asan
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --test-dir build-asan --output-on-failure -j2
fi
