// ingest/chunker: paragraph and sentence boundaries, token limits, overlap, pages.
#include <gtest/gtest.h>

#include "base/utf8.h"
#include "ingest/chunker.h"
#include "ingest/document.h"

namespace ksearch {
namespace {

std::vector<std::uint32_t> char_offsets(std::string_view text) {  // one token per non-space character
  std::vector<std::uint32_t> offsets;
  for (std::size_t pos = 0; pos < text.size();) {
    const auto at = static_cast<std::uint32_t>(pos);
    if (!utf8::is_space(utf8::decode(text, pos))) offsets.push_back(at);
  }
  return offsets;
}

TEST(Chunker, PrefersParagraphsThenSentencesAndKeepsOffsets) {
  Document document;
  document.text = "첫 문단의 첫 문장이다. 둘째 문장이다.\n\n둘째 문단이다.\n셋째 줄이다.\n\n마지막 문단이다.";
  ChunkOptions options;
  options.max_tokens = 20;
  options.overlap_tokens = 0;
  const auto chunks = chunk_document(document, char_offsets, options);
  ASSERT_GE(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].text, "첫 문단의 첫 문장이다. 둘째 문장이다.");
  for (const auto& chunk : chunks) {
    EXPECT_EQ(document.text.substr(chunk.byte_begin, chunk.byte_end - chunk.byte_begin), chunk.text);
    EXPECT_LE(chunk.tokens, options.max_tokens);
  }
  EXPECT_EQ(chunks[0].line_begin, 1);
  EXPECT_EQ(chunks.back().line_end, 6);
}

TEST(Chunker, LongSentencesSplitAtTokenBoundariesNeverInsideASyllable) {
  Document document;
  for (int i = 0; i < 300; ++i) document.text += "가나다라마바사";
  ChunkOptions options;
  options.max_tokens = 100;
  options.overlap_tokens = 10;
  const auto chunks = chunk_document(document, char_offsets, options);
  ASSERT_GE(chunks.size(), 21u);
  std::size_t covered = 0;
  for (const auto& chunk : chunks) {
    EXPECT_FALSE(utf8::find_invalid(chunk.text));
    EXPECT_LE(chunk.tokens, 100u);
    EXPECT_LE(chunk.byte_begin, covered);  // no gaps
    covered = std::max(covered, chunk.byte_end);
  }
  EXPECT_EQ(covered, document.text.size());
}

TEST(Chunker, OverlapRepeatsWholeSentencesAndPagesAreKept) {
  Document document;
  for (int i = 0; i < 12; ++i) document.text += "문장 번호 " + std::to_string(i) + "입니다. ";
  document.page_starts = {0, document.text.size() / 2};
  ChunkOptions options;
  options.max_tokens = 30;
  options.overlap_tokens = 10;
  const auto chunks = chunk_document(document, char_offsets, options);
  ASSERT_GE(chunks.size(), 3u);
  for (std::size_t i = 1; i < chunks.size(); ++i) {
    EXPECT_LT(chunks[i].byte_begin, chunks[i - 1].byte_end);    // overlap
    EXPECT_GT(chunks[i].byte_begin, chunks[i - 1].byte_begin);  // progress
  }
  EXPECT_EQ(chunks.front().page, 1);
  EXPECT_EQ(chunks.back().page, 2);
}

}  // namespace
}  // namespace ksearch
