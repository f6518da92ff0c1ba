// Where in a chunk a search hit is: the line and column an editor should jump to.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "store/chunk_store.h"

namespace ksearch {

struct HitLocation {
  int line = 0;           // 1-based line in the document
  int column = 1;         // 1-based byte column of the first query term on that line (as `rg --vimgrep` counts)
  bool matched = false;   // a query term occurs in the chunk (false for a purely semantic hit: line = chunk start)
  std::string line_text;  // that line, without its line break (from the chunk: may begin mid-line on its first line)
};

// The chunk line holding the most distinct query terms (the lexical tokens: Hangul bigrams, words), the earliest
// on ties, and its first match; the chunk's first line, column 1, when no term occurs.  `line_prefix` is the part of
// the chunk's first line before the chunk begins (chunks may start mid-line); columns on that line count it.
HitLocation locate_hit(const ChunkRecord& chunk, std::string_view query, std::string_view line_prefix = {});

// locate_hit, reading the document (root / chunk.path, through the ingest readers) for the line's beginning only
// when the hit is on the chunk's first line and the chunk does not start the document.  A file that is gone or no
// longer readable leaves the column counted from the chunk's start.
HitLocation locate_hit_in_file(const ChunkRecord& chunk, std::string_view query, const std::filesystem::path& root);

}  // namespace ksearch
