#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "search/hit_location.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {

ChunkRecord chunk_at(int line_begin, std::string text) {
  ChunkRecord chunk;
  chunk.path = "doc.txt";
  chunk.line_begin = line_begin;
  chunk.line_end = line_begin + static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  chunk.text = std::move(text);
  return chunk;
}

TEST(HitLocation, PicksTheLineWithTheMostQueryTerms) {
  const ChunkRecord chunk =
      chunk_at(248, "임대 안내\n시설 사용 시간은 9시부터\n체육관 대관 신청은 온라인으로 한다.\n기타 문의");
  // "대관" and "신청" both occur only on the third line (file line 250); the column is in bytes, 1-based.
  HitLocation hit = locate_hit(chunk, "체육관 대관 신청하려면");
  EXPECT_EQ(hit.line, 250);
  EXPECT_EQ(hit.column, 1);
  EXPECT_TRUE(hit.matched);
  EXPECT_EQ(hit.line_text, "체육관 대관 신청은 온라인으로 한다.");
  hit = locate_hit(chunk, "신청");
  EXPECT_EQ(hit.line, 250);
  EXPECT_EQ(hit.column, static_cast<int>(std::string("체육관 대관 ").size()) + 1);
  // A particle-attached query term matches by its bigrams.
  EXPECT_EQ(locate_hit(chunk, "시설에서").line, 249);
}

TEST(HitLocation, SemanticHitsPointAtTheChunkStart) {
  const HitLocation hit = locate_hit(chunk_at(7, "첫 줄\n둘째 줄"), "전혀 다른 질문");
  EXPECT_EQ(hit.line, 7);
  EXPECT_EQ(hit.column, 1);
  EXPECT_FALSE(hit.matched);
  EXPECT_EQ(hit.line_text, "첫 줄");
}

TEST(HitLocation, ColumnsCountThePartOfTheLineBeforeAMidLineChunk) {
  testing::TempDir dir;
  const std::string first = "앞 문장입니다. ";
  testing::write_text(dir / "doc.txt", "제목\n" + first + "뒷 문장에 핵심이 있다.\n끝\n");
  ChunkRecord chunk = chunk_at(2, "뒷 문장에 핵심이 있다.\n끝");
  chunk.ordinal = 1;
  chunk.byte_begin = static_cast<std::int64_t>(std::string("제목\n").size() + first.size());
  const std::size_t in_chunk = std::string("뒷 문장에 ").size();
  EXPECT_EQ(locate_hit(chunk, "핵심").column, static_cast<int>(in_chunk) + 1);
  const HitLocation hit = locate_hit_in_file(chunk, "핵심", dir.path());
  EXPECT_EQ(hit.line, 2);
  EXPECT_EQ(hit.column, static_cast<int>(first.size() + in_chunk) + 1);
  EXPECT_EQ(hit.line_text, first + "뒷 문장에 핵심이 있다.");
  // A file edited since indexing no longer holds the chunk there: the chunk-relative column stays.
  testing::write_text(dir / "doc.txt", "전혀 다른 내용\n");
  EXPECT_EQ(locate_hit_in_file(chunk, "핵심", dir.path()).column, static_cast<int>(in_chunk) + 1);
}

}  // namespace
}  // namespace ksearch
