// Lines of a document around a place in it: what `ksearch show` prints and the search page's context view shows.
#pragma once

#include <string>
#include <vector>

#include "ingest/document.h"
#include "search/index_location.h"
#include "store/chunk_store.h"

namespace ksearch {

struct ExcerptLine {
  std::size_t number = 0;  // 1-based
  int page = 0;            // 1-based page the line starts on, 0 when the format has none
  std::string text;        // without its line break
};

struct DocumentExcerpt {
  std::size_t total_lines = 0;
  std::vector<ExcerptLine> lines;
};

// Lines `first`..`last` (1-based, inclusive) with `context` lines before and after, clipped to the document.  `first`
// 0 means no place: the document's first 2 * context + 1 lines.  Throws Error naming `name` when `first` is past
// the end or `last` is before `first`.
DocumentExcerpt excerpt_lines(const Document& document, const std::string& name, std::size_t first, std::size_t last,
                              std::size_t context);

// The indexed file `stored_path` (as the index stores it) read the way the indexer reads it: a regular file whose
// real path the index's folders allow (a symbolic link swapped in since indexing cannot lead elsewhere, nor to a
// device or FIFO), at most DocumentLimits::unpacked_bytes of it.  Throws Error naming the path otherwise.
Document read_indexed_document(const IndexLocation& location, const IndexSettings& settings,
                               const std::string& stored_path);

}  // namespace ksearch
