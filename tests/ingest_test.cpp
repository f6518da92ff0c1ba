#include <sys/stat.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "base/files.h"
#include "base/hash.h"
#include "base/utf8.h"
#include "ingest/chunker.h"
#include "ingest/document.h"
#include "ingest/file_walker.h"
#include "ingest/glob.h"
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

TEST(Glob, GitignoreSemantics) {
  EXPECT_TRUE(glob_match("*.md", "a.md"));
  EXPECT_FALSE(glob_match("*.md", "dir/a.md"));
  EXPECT_TRUE(glob_match("**/*.md", "dir/sub/a.md"));
  EXPECT_TRUE(glob_match("**/*.md", "a.md"));
  EXPECT_TRUE(glob_match("docs/**", "docs/x/y.txt"));
  EXPECT_TRUE(glob_match("file[0-9].txt", "file7.txt"));
  EXPECT_FALSE(glob_match("file[!0-9].txt", "file7.txt"));
  EXPECT_TRUE(glob_match("a?c", "abc"));
  EXPECT_FALSE(glob_match("a?c", "a/c"));

  IgnoreRules rules;
  rules.add_lines("# comment\n*.log\nbuild/\n/top.txt\n!keep.log\n");
  EXPECT_EQ(rules.decide("x/y.log", false), 1);
  EXPECT_EQ(rules.decide("x/keep.log", false), -1);
  EXPECT_EQ(rules.decide("build", true), 1);
  EXPECT_EQ(rules.decide("build", false), 0);
  EXPECT_EQ(rules.decide("top.txt", false), 1);
  EXPECT_EQ(rules.decide("sub/top.txt", false), 0);
}

TEST(FileWalker, HonoursIgnoreFilesHiddenFoldersAndLinks) {
  testing::TempDir dir;
  const auto root = dir.path();
  testing::write_text(root / "a.txt", "가");
  testing::write_text(root / "b.md", "나");
  testing::write_text(root / "image.png", "x");
  testing::write_text(root / ".hidden" / "c.txt", "다");
  testing::write_text(root / ".ksearch" / "d.txt", "라");
  testing::write_text(root / "logs" / "e.txt", "마");
  testing::write_text(root / "sub" / "f.txt", "바");
  testing::write_text(root / "sub" / "skip.txt", "사");
  testing::write_text(root / "sub" / ".ksearchignore", "skip.txt\n");
  testing::write_text(root / ".ksearchignore", "logs/\n");
  fs::create_directory_symlink(root, root / "sub" / "loop");
  fs::create_symlink(root / "nowhere.txt", root / "dangling.txt");
  const WalkResult result = walk_documents({root}, root, {{"b.md"}});
  std::vector<std::string> found;
  for (const auto& file : result.files) found.push_back(file.relative);
  EXPECT_EQ(found, (std::vector<std::string>{"a.txt", "sub/f.txt"}));
  EXPECT_EQ(result.other_types, 1u);
  bool saw_loop = false, saw_dangling = false;
  for (const auto& skipped : result.skipped) {
    if (skipped.reason.find("loop") != std::string::npos) saw_loop = true;
    if (skipped.relative == "dangling.txt") saw_dangling = true;
  }
  EXPECT_TRUE(saw_loop);
  EXPECT_TRUE(saw_dangling);
}

std::map<std::string, std::string> skipped_by_path(const WalkResult& result) {
  std::map<std::string, std::string> out;
  for (const auto& skipped : result.skipped) out[skipped.relative] = skipped.reason;
  return out;
}

std::vector<std::string> found_paths(const WalkResult& result) {
  std::vector<std::string> out;
  for (const auto& file : result.files) out.push_back(file.relative);
  return out;
}

// Issue #35, finding 1: links to /etc/shadow, /etc and / were followed, and / led into /proc.
TEST(FileWalker, LinksOutOfTheFoldersAreSkippedWithTheReason) {
  testing::TempDir dir;
  const fs::path root = dir / "docs", outside = dir / "outside";
  testing::write_text(root / "a.txt", "가");
  testing::write_text(outside / "b.txt", "나");
  fs::create_symlink("/etc/passwd", root / "s.md");
  fs::create_directory_symlink("/etc", root / "e");
  fs::create_directory_symlink("/", root / "rootfs");
  fs::create_directory_symlink("/proc/self", root / "self");
  fs::create_directory_symlink(outside, root / "other");
  fs::create_symlink(root / "a.txt", root / "inside.txt");
  const auto start = std::chrono::steady_clock::now();
  const WalkResult result = walk_documents({root}, root, {});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(found_paths(result), (std::vector<std::string>{"a.txt", "inside.txt"}));
  auto skipped = skipped_by_path(result);
  for (const char* link : {"s.md", "e", "rootfs", "other"})
    EXPECT_NE(skipped[link].find("leaves the indexed folders (--follow-symlinks"), std::string::npos) << link;
  EXPECT_NE(skipped["s.md"].find("/etc/passwd"), std::string::npos) << skipped["s.md"];
  EXPECT_NE(skipped["self"].find("lies in /proc"), std::string::npos) << skipped["self"];

  // --follow-symlinks follows a link out of the folder, never into /proc.
  fs::remove(root / "rootfs");
  fs::remove(root / "e");
  fs::remove(root / "s.md");
  const WalkResult followed = walk_documents({root}, root, {{}, true});
  EXPECT_EQ(found_paths(followed), (std::vector<std::string>{"a.txt", "inside.txt", "other/b.txt"}));
  skipped = skipped_by_path(followed);
  EXPECT_NE(skipped["self"].find("lies in /proc"), std::string::npos) << skipped["self"];
}

TEST(FileWalker, FollowingALinkToTheRootStaysOutOfProcSysAndDev) {
  testing::TempDir dir;
  fs::create_directory_symlink("/", dir / "rootfs");
  // Only the top of / is walked (the rest excluded), enough to meet /proc, /sys and /dev through the link.
  WalkOptions options;
  options.follow_symlinks = true;
  options.exclude_globs = {"/rootfs/*/"};
  for (const char* kept : {"/rootfs/proc/", "/rootfs/sys/", "/rootfs/dev/"})
    options.exclude_globs.push_back(std::string("!") + kept);
  const WalkResult result = walk_documents({dir.path()}, dir.path(), options);
  const auto skipped = skipped_by_path(result);
  for (const char* folder : {"rootfs/proc", "rootfs/sys", "rootfs/dev"}) {
    if (!fs::exists(fs::path("/") / fs::path(folder).filename())) continue;
    ASSERT_TRUE(skipped.contains(folder)) << folder;
    EXPECT_NE(skipped.at(folder).find("which is never read"), std::string::npos) << skipped.at(folder);
  }
  for (const auto& file : result.files) EXPECT_FALSE(file.relative.starts_with("rootfs/proc")) << file.relative;
}

TEST(WalkedFile, ALinkSwappedInAfterTheWalkCannotLeaveTheFolders) {
  testing::TempDir dir;
  const fs::path root = dir / "docs";
  testing::write_text(root / "a.txt", "가나다");
  testing::write_text(root / "sub" / "b.txt", "라마바");
  testing::write_text(dir / "outside" / "b.txt", "바깥 파일");
  const WalkResult result = walk_documents({root}, root, {});
  ASSERT_EQ(result.files.size(), 2u);
  const PathGuard guard({root}, false);
  EXPECT_EQ(WalkedFile(result.files[0], guard).read_all(), "가나다");

  fs::remove(root / "a.txt");
  fs::create_symlink("/etc/passwd", root / "a.txt");
  try {
    WalkedFile(result.files[0], guard);
    FAIL() << "read through a link to /etc/passwd";
  } catch (const SkipFile& e) {
    EXPECT_NE(std::string(e.what()).find("now leads to /etc/passwd"), std::string::npos) << e.what();
  }
  // A folder higher up swapped for a link.
  fs::rename(root / "sub", dir / "sub.old");
  fs::create_directory_symlink(dir / "outside", root / "sub");
  EXPECT_THROW(WalkedFile(result.files[1], guard), SkipFile);
  // A FIFO swapped in neither blocks nor is read.
  fs::remove(root / "a.txt");
  ASSERT_EQ(::mkfifo((root / "a.txt").c_str(), 0600), 0);
  EXPECT_THROW(WalkedFile(result.files[0], guard), SkipFile);
}

// Issue #35, finding 8: a growing file was read past its walked size until the writer stopped.
TEST(WalkedFile, AGrowingFileIsReadAsItWasWalked) {
  testing::TempDir dir;
  const std::string line = "계속 자라는 파일의 한 줄입니다.\n";
  std::string start;
  while (start.size() < 100000) start += line;
  testing::write_text(dir / "growing.txt", start);
  const WalkResult result = walk_documents({dir.path()}, dir.path(), {});
  ASSERT_EQ(result.files.size(), 1u);
  std::atomic<bool> stop = false;
  std::thread writer([&] {
    std::ofstream out(dir / "growing.txt", std::ios::binary | std::ios::app);
    while (!stop) out << line << std::flush;
  });
  while (fs::file_size(dir / "growing.txt") < 2 * start.size())  // growing while read
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const PathGuard guard({dir.path()}, false);
  WalkedFile file(result.files[0], guard);
  TextStream stream(file, 4096);
  std::string text;
  while (auto block = stream.next()) text += *block;
  stop = true;
  writer.join();
  EXPECT_GT(fs::file_size(dir / "growing.txt"), start.size());
  EXPECT_EQ(text, start);
  EXPECT_EQ(stream.bytes_hash(), sha256_hex(start));
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

namespace ksearch {
namespace {

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
                         [](const auto& info) {
                           std::string name = fs::path(info.param).stem().string();
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace ksearch
