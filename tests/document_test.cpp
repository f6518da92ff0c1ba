// ingest/document and its readers: encodings, every format, broken input, budgets, the sample documents; and
// ingest/text_stream.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "base/files.h"
#include "base/hash.h"
#include "base/utf8.h"
#include "ingest/document.h"
#include "ingest/text_stream.h"
#include "ingest/walked_file.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {
namespace fs = std::filesystem;

fs::path example(const std::string& name) { return fs::path(KSEARCH_SOURCE_DIR) / "examples" / "docs" / name; }

TEST(TextDecoding, DetectsEncodings) {
  Document document;
  EXPECT_EQ(decode_text("\xEF\xBB\xBF한글", document), "한글");
  EXPECT_EQ(document.encoding, "utf-8-bom");
  document = {};
  EXPECT_EQ(decode_text(std::string("\xFF\xFE\x5C\xD5\x00\xAE", 6), document), "한글");
  EXPECT_EQ(document.encoding, "utf-16le");
  document = {};
  EXPECT_EQ(decode_text(std::string("\xD5\x5C\xAD\x6D\x00\x20\xD5\x5C", 8), document), "한국 한");  // no BOM
  EXPECT_EQ(document.encoding, "utf-16be");
  document = {};
  EXPECT_EQ(decode_text("\xC7\xD1\xB1\xDB \xC5\xD8\xBD\xBA\xC6\xAE", document), "한글 텍스트");  // EUC-KR / CP949
  EXPECT_EQ(document.encoding, "cp949");
  document = {};
  EXPECT_THROW(decode_text(std::string("\x7F"
                                       "ELF\x02\x01\x01\x00\x00\x00",
                                       10),
                           document),
               SkipFile);
}

TEST(Readers, ExampleFilesInEveryFormatAndEncoding) {
  const auto cp949 = read_document(example("공지/library_notice_cp949.txt"));
  EXPECT_EQ(cp949.encoding, "cp949");
  EXPECT_NE(cp949.text.find("상호대차 서비스"), std::string::npos);
  const auto utf16 = read_document(example("공지/apartment_fee_utf16.txt"));
  EXPECT_EQ(utf16.encoding, "utf-16le");
  EXPECT_NE(utf16.text.find("납부 기한은 매월 25일"), std::string::npos);

  const auto html = read_document(example("음식/bibimbap.html"));
  EXPECT_EQ(html.format, "html");
  EXPECT_NE(html.text.find("전주비빔밥은 콩나물과 황포묵을"), std::string::npos);
  EXPECT_EQ(html.text.find("DOMContentLoaded"), std::string::npos);  // no script
  EXPECT_EQ(html.text.find("font-family"), std::string::npos);       // no style
  EXPECT_TRUE(html.text.starts_with("비빔밥\n"));                    // the title leads

  // Character-wrapped Korean PDF: words split across lines are joined without spaces.
  const auto pdf = read_document(example("공지/rental_contract.pdf"));
  EXPECT_EQ(pdf.format, "pdf");
  ASSERT_EQ(pdf.page_starts.size(), 1u);
  EXPECT_NE(pdf.text.find("집주인이 실제 소유자인지, 근저당 같은 권리 관계가 없는지 확인해야 한다."), std::string::npos)
      << pdf.text;
  EXPECT_NE(pdf.text.find("확정일자를 받아 두어야 보증금을 보호받을 수 있다."), std::string::npos) << pdf.text;
  EXPECT_TRUE(pdf.empty_pages.empty());
}

TEST(Readers, RealKoreanPdfContainsReferenceLines) {
  const auto dir = testing::test_data("doc-samples");
  const auto document = read_document(dir / "pdf-korean-bill-hancom.pdf");
  EXPECT_EQ(document.page_starts.size(), 10u);
  std::ifstream lines(dir / "pdf-korean-bill-hancom.contains.txt");
  std::string line;
  int checked = 0;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    EXPECT_NE(document.text.find(line), std::string::npos) << line;
    ++checked;
  }
  EXPECT_GE(checked, 5);
}

TEST(Readers, BrokenInputIsSkippedWithAReason) {
  testing::TempDir dir;
  testing::write_text(dir / "broken.pdf", "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer <<>>\n%%EOF");
  try {
    const auto document = read_document(dir / "broken.pdf");
    EXPECT_LT(document.text.size(), 8u);
  } catch (const SkipFile& e) {
    EXPECT_NE(std::string(e.what()).find("PDF"), std::string::npos);
  }
  testing::write_text(dir / "fake.pdf", "this is not a pdf");
  EXPECT_THROW(read_document(dir / "fake.pdf"), SkipFile);
  testing::write_text(dir / "binary.txt", std::string("\x00\x01\x02\x03", 4));
  EXPECT_THROW(read_document(dir / "binary.txt"), SkipFile);
  EXPECT_THROW(read_document(dir / "missing.txt"), SkipFile);
  testing::write_text(dir / "deep.html", std::string(100000, '<') + "div>");
  EXPECT_NO_THROW(read_document(dir / "deep.html"));
  std::string nested;
  for (int i = 0; i < 5000; ++i) nested += "<div>";
  testing::write_text(dir / "nested.html", nested + "깊은 곳");
  EXPECT_NO_THROW(read_document(dir / "nested.html"));
}

// Issue #35, finding 4: 200,000 nested elements took ~80 s (Gumbo's tree building is quadratic in the depth).
TEST(Readers, DeepHtmlIsReadInLinearTime) {
  testing::TempDir dir;
  std::string html = "<html><body><p>시작</p>";
  for (int i = 0; i < 200000; ++i) html += i % 2 ? "<span>" : "<div>";
  html += "깊은 본문<script>숨은 코드</script>";
  for (int i = 199999; i >= 0; --i) html += i % 2 ? "</span>" : "</div>";
  html += "<p>끝 문단</p></body></html>";
  testing::write_text(dir / "deep.html", html);
  const auto start = std::chrono::steady_clock::now();
  const Document document = read_document(dir / "deep.html");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
#ifdef __SANITIZE_ADDRESS__
  EXPECT_LT(seconds, 30.0);
#else
  EXPECT_LT(seconds, 5.0);
#endif
  EXPECT_EQ(document.text, "시작\n깊은 본문\n끝 문단\n");

  // Below the depth limit, nesting keeps its structure.
  std::string nested = "<html><body>";
  for (int i = 0; i < 300; ++i) nested += "<div>" + std::to_string(i);
  testing::write_text(dir / "nested.html", nested);
  const std::string text = read_document(dir / "nested.html").text;
  EXPECT_TRUE(text.starts_with("0\n1\n2\n")) << text.substr(0, 20);
  EXPECT_TRUE(text.ends_with("\n298\n299\n"));
}

TEST(Readers, TextBeyondTheBudgetIsTruncatedWithAWarning) {
  testing::TempDir dir;
  std::string text;
  while (text.size() < 5000) text += "예산을 넘는 본문의 한 줄입니다.\n";
  testing::write_text(dir / "long.txt", text);
  DocumentLimits limits;
  limits.unpacked_bytes = 1000;
  const Document document = read_document(dir / "long.txt", limits);
  EXPECT_LE(document.text.size(), 1000u);
  EXPECT_GT(document.text.size(), 900u);
  EXPECT_TRUE(text.starts_with(document.text));
  EXPECT_TRUE(document.text.ends_with("\n"));
  EXPECT_NE(document.warning.find("text truncated at 1000 bytes (--max-document-bytes"), std::string::npos);
}

// Issue #35, finding 8: a character split by a read block boundary became U+FFFD with a false warning.
TEST(TextStream, ACharacterAcrossABlockBoundaryStaysWhole) {
  testing::TempDir dir;
  for (const std::string prefix : {"", "a", "ab"}) {  // the boundary after each byte of a 3-byte character
    std::string text = prefix;
    for (int i = 0; i < 40; ++i) text += "가";
    text += "\U0001F600 끝";  // a 4-byte character too
    testing::write_text(dir / "split.txt", text);
    const WalkResult result = walk_documents({dir.path()}, dir.path(), {});
    ASSERT_EQ(result.files.size(), 1u);
    for (std::size_t block = 7; block <= 17; ++block) {
      WalkedFile file(result.files[0], PathGuard({dir.path()}, false));
      TextStream stream(file, block);
      std::string read;
      while (auto piece = stream.next()) read += *piece;
      EXPECT_EQ(read, text) << "block " << block << ", prefix '" << prefix << "'";
      EXPECT_EQ(stream.replaced(), 0u) << "block " << block;
    }
  }
}

// The samples' comparison rule: strip trailing whitespace on each line, drop empty lines, on both sides.
std::vector<std::string> comparable_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) line.pop_back();
    if (!line.empty()) lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

class DocumentSample : public ::testing::TestWithParam<std::string> {};

TEST_P(DocumentSample, ReproducesExpectedText) {
  const auto dir = testing::test_data("doc-samples");
  const Document document = read_document(dir / GetParam());
  const std::string stem = fs::path(GetParam()).stem().string();
  const auto expected = comparable_lines(read_file(dir / (stem + ".expected.txt")));
  const auto actual = comparable_lines(document.text);
  EXPECT_EQ(actual, expected) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Samples, DocumentSample,
                         ::testing::Values("hwp-noori-press-release.hwp", "hwp-fields-korean-prose.hwp",
                                           "hwp-table-uncompressed.hwp", "hwp-v5022-fields-picture-table.hwp",
                                           "hwp-distribution-tender-notice.hwp", "hwpx-table-grades.hwpx",
                                           "hwpx-table-merged-cells.hwpx", "hwpx-korean-prose-hanja.hwpx",
                                           "docx-sample-korean-line.docx", "docx-tables-latin.docx"),
                         [](const auto& test) {
                           std::string name = fs::path(test.param).stem().string();
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace ksearch
