// Splits a document into passages sized in the embedding model's own tokens.
//
// Breaks prefer, in order: a paragraph end (blank line), a line end, a sentence end (Korean "다." "요.", "?", "!",
// "。", and "." before a space), and only inside an over-long sentence a token boundary.  A break never falls
// inside a UTF-8 sequence.  Consecutive chunks overlap by up to `overlap_tokens` whole sentences.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/document.h"

namespace ksearch {

// Byte offset where each token of `text` starts (the model tokenizer, or an estimate when there is no model).
using TokenOffsets = std::function<std::vector<std::uint32_t>(std::string_view text)>;

// Offsets for indexes without a model: words, and one token per two characters of long words (close to what
// the XLM-R sentencepiece vocabulary produces for Korean).
std::vector<std::uint32_t> estimated_token_offsets(std::string_view text);

struct ChunkOptions {
  std::size_t max_tokens = 510;  // content tokens per chunk (without <s>, </s> and the passage prefix)
  std::size_t overlap_tokens = 64;
};

struct TextChunk {
  std::size_t byte_begin = 0, byte_end = 0;  // in Document::text
  int line_begin = 1, line_end = 1;          // 1-based, inclusive
  int page = 0;
  std::size_t tokens = 0;
  std::string text;
};

std::vector<TextChunk> chunk_document(const Document& document, const TokenOffsets& token_offsets,
                                      const ChunkOptions& options);

}  // namespace ksearch
