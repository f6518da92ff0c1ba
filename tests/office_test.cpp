// DOCX, HWPX and HWP built in the test (multi-section HWP, tables, HWPML), malformed containers, and search
// reaching text inside a table.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zip.h>
#include <zlib.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>

#include "base/files.h"
#include "ingest/document.h"
#include "search/indexer.h"
#include "search/searcher.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {
namespace fs = std::filesystem;

void write_zip(const fs::path& path, const std::vector<std::pair<std::string, std::string>>& entries) {
  int error = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  ASSERT_NE(archive, nullptr);
  for (const auto& [name, content] : entries) {
    zip_source_t* source = zip_source_buffer(archive, content.data(), content.size(), 0);
    ASSERT_GE(zip_file_add(archive, name.c_str(), source, ZIP_FL_OVERWRITE), 0);
  }
  ASSERT_EQ(zip_close(archive), 0);  // copies the buffers before returning
}

std::string docx_xml() {
  return R"(<?xml version="1.0" encoding="UTF-8"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>
<w:p><w:r><w:t>계약서 제목</w:t></w:r></w:p>
<w:tbl><w:tr><w:tc><w:p><w:r><w:t>임대인</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>홍길동</w:t></w:r></w:p></w:tc></w:tr>
<w:tr><w:tc><w:p><w:r><w:t>보증금은 계약 종료일에 반환한다.</w:t></w:r></w:p></w:tc><w:tc><w:p/></w:tc></w:tr></w:tbl>
<w:p><w:r><w:t xml:space="preserve">탭</w:t><w:tab/><w:t>뒤</w:t><w:br/><w:t>줄바꿈</w:t></w:r><w:del><w:r><w:delText>지운 글</w:delText></w:r></w:del></w:p>
</w:body></w:document>)";
}

std::string hwpx_section(const std::string& paragraphs) {
  return R"(<?xml version="1.0" encoding="UTF-8"?><hs:sec xmlns:hs="http://www.hancom.co.kr/hwpml/2011/section" )"
         R"(xmlns:hp="http://www.hancom.co.kr/hwpml/2011/paragraph">)" +
         paragraphs + "</hs:sec>";
}

TEST(Office, DocxParagraphsTablesTabsAndBreaks) {
  testing::TempDir dir;
  write_zip(dir / "a.docx", {{"[Content_Types].xml", "<Types/>"}, {"word/document.xml", docx_xml()}});
  const Document document = read_document(dir / "a.docx");
  EXPECT_EQ(document.format, "docx");
  EXPECT_EQ(document.text, "계약서 제목\n임대인\n홍길동\n보증금은 계약 종료일에 반환한다.\n\n탭\t뒤\n줄바꿈\n");
}

TEST(Office, HwpxSectionsInOrderWithNestedTables) {
  testing::TempDir dir;
  const std::string table =
      R"(<hp:p><hp:run><hp:t>표 앞</hp:t><hp:tbl><hp:tr><hp:tc><hp:subList><hp:p><hp:run><hp:t>칸 하나</hp:t></hp:run></hp:p>)"
      R"(</hp:subList></hp:tc><hp:tc><hp:subList><hp:p><hp:run><hp:t>칸<hp:tab/>둘</hp:t></hp:run></hp:p></hp:subList></hp:tc>)"
      R"(</hp:tr></hp:tbl></hp:run></hp:p>)";
  write_zip(dir / "a.hwpx",
            {{"mimetype", "application/hwp+zip"},
             {"Contents/section10.xml", hwpx_section("<hp:p><hp:run><hp:t>열 번째</hp:t></hp:run></hp:p>")},
             {"Contents/section2.xml", hwpx_section(table)},
             {"Contents/section0.xml", hwpx_section("<hp:p><hp:run><hp:t>첫 구역</hp:t></hp:run></hp:p>")}});
  EXPECT_EQ(read_document(dir / "a.hwpx").text, "첫 구역\n표 앞\n칸 하나\n칸\t둘\n열 번째\n");
}

// --- a minimal HWP 5.0 writer: one FAT sector, a directory, and streams in plain sectors (mini-stream cutoff 0) ---

std::string u16le(std::u16string_view text) {
  std::string out;
  for (char16_t c : text) out += static_cast<char>(c & 0xFF), out += static_cast<char>(c >> 8);
  return out;
}

std::string record(std::uint32_t tag, std::uint32_t level, const std::string& data) {
  const std::uint32_t header = tag | (level << 10) | (static_cast<std::uint32_t>(data.size()) << 20);
  std::string out(4, '\0');
  std::memcpy(out.data(), &header, 4);
  return out + data;
}

std::string paragraph(std::u16string_view text, std::uint32_t level = 0) {
  return record(66, level, std::string(22, '\0')) + record(67, level + 1, u16le(std::u16string(text) + u'\r'));
}

std::string compound_file(const std::vector<std::pair<std::string, std::string>>& streams,
                          std::uint32_t section_count) {
  // Directory: 0 root, 1 FileHeader, 2 BodyText (storage), 3.. sections; children linked through right siblings.
  const std::size_t sector = 512;
  std::vector<std::string> data_sectors;
  std::vector<std::uint32_t> fat;
  struct Entry {
    std::string name;
    std::uint8_t type;
    std::uint32_t child = 0xFFFFFFFF, right = 0xFFFFFFFF, start = 0xFFFFFFFE;
    std::uint32_t size = 0;
  };
  std::vector<Entry> entries = {{"Root Entry", 5}, {"FileHeader", 2}, {"BodyText", 1}};
  entries[0].child = 1;
  entries[1].right = 2;
  entries[2].child = 3;
  for (std::uint32_t i = 0; i < section_count; ++i) {
    entries.push_back({"Section" + std::to_string(i), 2});
    if (i + 1 < section_count) entries.back().right = 4 + i;
  }
  // Sector 0 is the FAT; stream data follows; the directory comes last.
  std::uint32_t next = 1;
  const auto place = [&](const std::string& bytes, std::uint32_t& start) {
    start = next;
    const std::size_t count = std::max<std::size_t>(1, (bytes.size() + sector - 1) / sector);
    for (std::size_t i = 0; i < count; ++i) {
      std::string chunk = bytes.substr(std::min(bytes.size(), i * sector), sector);
      chunk.resize(sector, '\0');
      data_sectors.push_back(chunk);
      fat.push_back(i + 1 < count ? next + 1 : 0xFFFFFFFE);
      ++next;
    }
  };
  for (std::size_t i = 0; i < streams.size(); ++i) {
    Entry& entry = entries[i == 0 ? 1 : 2 + i];
    place(streams[i].second, entry.start);
    entry.size = static_cast<std::uint32_t>(streams[i].second.size());
  }
  std::string directory;
  for (const Entry& entry : entries) {
    std::string raw(128, '\0');
    const std::string name = u16le(std::u16string(entry.name.begin(), entry.name.end()) + u'\0');
    std::memcpy(raw.data(), name.data(), name.size());
    const std::uint16_t name_length = static_cast<std::uint16_t>(name.size());
    std::memcpy(raw.data() + 64, &name_length, 2);
    raw[66] = static_cast<char>(entry.type);
    const std::uint32_t none = 0xFFFFFFFF;
    std::memcpy(raw.data() + 68, &none, 4);
    std::memcpy(raw.data() + 72, &entry.right, 4);
    std::memcpy(raw.data() + 76, &entry.child, 4);
    std::memcpy(raw.data() + 116, &entry.start, 4);
    std::memcpy(raw.data() + 120, &entry.size, 4);
    directory += raw;
  }
  std::uint32_t directory_start = 0;
  place(directory, directory_start);
  std::string fat_sector(sector, '\xFF');
  const std::uint32_t fat_marker = 0xFFFFFFFD;
  std::memcpy(fat_sector.data(), &fat_marker, 4);
  for (std::size_t i = 0; i < fat.size(); ++i) std::memcpy(fat_sector.data() + 4 * (i + 1), &fat[i], 4);
  std::string header(512, '\0');
  std::memcpy(header.data(), "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8);
  const std::uint16_t minor = 0x3E, major = 3, byte_order = 0xFFFE, shift = 9, mini_shift = 6;
  std::memcpy(header.data() + 0x18, &minor, 2);
  std::memcpy(header.data() + 0x1A, &major, 2);
  std::memcpy(header.data() + 0x1C, &byte_order, 2);
  std::memcpy(header.data() + 0x1E, &shift, 2);
  std::memcpy(header.data() + 0x20, &mini_shift, 2);
  const std::uint32_t one = 1, end = 0xFFFFFFFE, zero = 0;
  std::memcpy(header.data() + 0x2C, &one, 4);
  std::memcpy(header.data() + 0x30, &directory_start, 4);
  std::memcpy(header.data() + 0x38, &zero, 4);  // mini-stream cutoff 0: every stream in plain sectors
  std::memcpy(header.data() + 0x3C, &end, 4);
  std::memcpy(header.data() + 0x44, &end, 4);
  std::memset(header.data() + 0x4C, 0xFF, 109 * 4);
  std::memcpy(header.data() + 0x4C, &zero, 4);  // FAT in sector 0
  std::string file = header + fat_sector;
  for (const auto& data : data_sectors) file += data;
  return file;
}

std::string file_header(std::uint32_t flags) {
  std::string header(256, '\0');
  std::memcpy(header.data(), "HWP Document File", 17);
  const std::uint32_t version = 0x05000300;
  std::memcpy(header.data() + 32, &version, 4);
  std::memcpy(header.data() + 36, &flags, 4);
  return header;
}

TEST(Hwp, MultiSectionUncompressedDocumentWithTableAndControls) {
  testing::TempDir dir;
  // A paragraph with a tab (inline control, 8 units), a table control (extended, 8 units) and a line break; the
  // table's cell paragraphs follow at deeper levels.
  std::u16string first = u"첫 문단";
  first += u'\t';
  first += std::u16string(7, u'\0');
  first += u"끝";
  std::u16string table_control(1, u'\x0B');
  table_control += std::u16string(u"tbl ") + std::u16string(3, u'\0');
  const std::string section0 = paragraph(first) + paragraph(table_control + u"표 다음") +
                               paragraph(u"칸 안의 문장입니다.", 2) + paragraph(u"둘째\n줄", 0);
  const std::string section1 = paragraph(u"둘째 구역") + paragraph(u"");
  testing::write_text(
      dir / "multi.hwp",
      compound_file({{"FileHeader", file_header(0)}, {"Section0", section0}, {"Section1", section1}}, 2));
  const Document document = read_document(dir / "multi.hwp");
  EXPECT_EQ(document.format, "hwp");
  EXPECT_EQ(document.text, "첫 문단\t끝\n표 다음\n칸 안의 문장입니다.\n둘째\n줄\n둘째 구역\n\n");

  testing::write_text(dir / "locked.hwp", compound_file({{"FileHeader", file_header(2)}, {"Section0", section0}}, 1));
  try {
    read_document(dir / "locked.hwp");
    FAIL();
  } catch (const SkipFile& e) {
    EXPECT_NE(std::string(e.what()).find("password-protected"), std::string::npos);
  }
}

TEST(Hwp, HwpmlIsDetectedByContent) {
  testing::TempDir dir;
  testing::write_text(dir / "xml.hwp", R"(<?xml version="1.0" encoding="UTF-8"?><HWPML Version="2.8"><BODY><SECTION>
    <P><TEXT><CHAR>HWPML 문단</CHAR></TEXT></P><P><TEXT><CHAR>표</CHAR><TABLE><ROW><CELL><PARALIST>
    <P><TEXT><CHAR>칸</CHAR></TEXT></P></PARALIST></CELL></ROW></TABLE></TEXT></P></SECTION></BODY></HWPML>)");
  const Document document = read_document(dir / "xml.hwp");
  EXPECT_EQ(document.format, "hwpml");
  EXPECT_EQ(document.text, "HWPML 문단\n표\n칸\n");
}

TEST(Office, MalformedContainersAreSkippedWithAReason) {
  testing::TempDir dir;
  const auto sample = testing::test_data("doc-samples");
  const std::string docx = read_file(sample / "docx-sample-korean-line.docx");
  const std::string hwp = read_file(sample / "hwp-noori-press-release.hwp");
  const std::map<std::string, std::string> broken = {
      {"cut.docx", docx.substr(0, docx.size() / 2)},
      {"cut.hwpx", read_file(sample / "hwpx-table-grades.hwpx").substr(0, 5000)},
      {"noise.docx", std::string(4000, 'x')},
      {"cut.hwp", hwp.substr(0, hwp.size() / 3)},
      {"header-only.hwp", hwp.substr(0, 512)},
      {"bad-sector.hwp",
       [&] {
         std::string copy = hwp;
         std::memset(copy.data() + 0x30, 0x7F, 4);  // directory start sector far outside the file
         return copy;
       }()},
  };
  for (const auto& [name, bytes] : broken) {
    testing::write_text(dir / name, bytes);
    EXPECT_THROW(read_document(dir / name), SkipFile) << name;
  }
  // Wrong record length inside an otherwise valid container.
  std::string section = paragraph(u"정상");
  std::string bad = record(67, 1, "xx");
  const std::uint32_t lying = 67 | (1u << 10) | (0xFFEu << 20);
  std::memcpy(bad.data(), &lying, 4);
  testing::write_text(dir / "record.hwp",
                      compound_file({{"FileHeader", file_header(0)}, {"Section0", section + bad}}, 1));
  try {
    read_document(dir / "record.hwp");
    FAIL();
  } catch (const SkipFile& e) {
    EXPECT_NE(std::string(e.what()).find("record"), std::string::npos) << e.what();
  }
}

testing::RepeatedZipEntry docx_body(std::size_t paragraphs) {
  return {"word/document.xml", R"(<w:document xmlns:w="w"><w:body>)", "<w:p><w:r><w:t>압축 폭탄 문단</w:t></w:r></w:p>",
          paragraphs, "</w:body></w:document>"};
}

std::string hwpx_bomb(int sections, std::size_t paragraphs) {
  std::vector<testing::RepeatedZipEntry> entries = {{"mimetype", "application/hwp+zip", "", 0, ""}};
  for (int i = 0; i < sections; ++i)
    entries.push_back({"Contents/section" + std::to_string(i) + ".xml", R"(<hs:sec xmlns:hs="s" xmlns:hp="p">)",
                       "<hp:p><hp:run><hp:t>압축 폭탄 구역</hp:t></hp:run></hp:p>", paragraphs, "</hs:sec>"});
  return testing::repeated_zip(entries);
}

// Runs `body` in a child process whose address space is limited to `bytes`; true when it returned true.  Under
// AddressSanitizer (which reserves terabytes of address space) the limit is left out.
template <typename Body>
bool in_limited_memory(std::size_t bytes, Body body) {
  const pid_t pid = fork();
  if (pid == 0) {
#ifndef __SANITIZE_ADDRESS__
    const rlimit limit{bytes, bytes};
    if (setrlimit(RLIMIT_AS, &limit) != 0) _exit(2);
#endif
    _exit(body() ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool skipped_for_budget(const fs::path& path, const DocumentLimits& limits = {}) {
  try {
    read_document(path, limits);
  } catch (const SkipFile& e) {
    return std::string(e.what()).find("unpacks to more than") != std::string::npos;
  }
  return false;
}

// Issue #35, finding 4: a 0.87 MB DOCX inflating to 250 MB took 1.6 GB; a 4.3 MB HWPX with six 200 MB sections
// took 3.5 GB and ended the run with std::bad_alloc.
TEST(Office, ZipBombsStopAtTheUnpackBudget) {
  testing::TempDir dir;
  const std::size_t paragraph_bytes = docx_body(1).unit.size();
  testing::write_text(dir / "bomb.docx", testing::repeated_zip({docx_body((250u << 20) / paragraph_bytes)}));
  testing::write_text(dir / "bomb.hwpx", hwpx_bomb(6, (200u << 20) / paragraph_bytes));
  EXPECT_LT(fs::file_size(dir / "bomb.docx"), 2u << 20);
  EXPECT_LT(fs::file_size(dir / "bomb.hwpx"), 6u << 20);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(in_limited_memory(
      512u << 20, [&] { return skipped_for_budget(dir / "bomb.docx") && skipped_for_budget(dir / "bomb.hwpx"); }));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));

  // The budget counts all entries together: three sections of 1 MiB pass a 4 MiB budget, not a 2 MiB one.
  testing::write_text(dir / "three.hwpx", hwpx_bomb(3, (1u << 20) / paragraph_bytes));
  DocumentLimits limits;
  limits.unpacked_bytes = 4u << 20;
  const Document document = read_document(dir / "three.hwpx", limits);
  EXPECT_EQ(document.text.size(), 3 * ((1u << 20) / paragraph_bytes) * std::string("압축 폭탄 구역\n").size());
  limits.unpacked_bytes = 2u << 20;
  EXPECT_TRUE(skipped_for_budget(dir / "three.hwpx", limits));
}

std::string raw_deflate(const std::string& data) {
  z_stream stream{};
  EXPECT_EQ(deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&stream, data.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(out.size() - stream.avail_out);
  deflateEnd(&stream);
  return out;
}

TEST(Hwp, CompressedSectionsStopAtTheUnpackBudget) {
  testing::TempDir dir;
  std::string section;
  while (section.size() < (3u << 20)) section += paragraph(u"압축된 구역의 문단입니다.");
  const std::string compressed = raw_deflate(section);
  testing::write_text(
      dir / "bomb.hwp",
      compound_file({{"FileHeader", file_header(1)}, {"Section0", compressed}, {"Section1", compressed}}, 2));
  EXPECT_LT(fs::file_size(dir / "bomb.hwp"), 1u << 20);
  DocumentLimits limits;
  limits.unpacked_bytes = 8u << 20;
  EXPECT_NE(read_document(dir / "bomb.hwp", limits).text.find("압축된 구역의 문단입니다.\n"), std::string::npos);
  limits.unpacked_bytes = 4u << 20;  // the first section fits, both do not
  EXPECT_TRUE(skipped_for_budget(dir / "bomb.hwp", limits));
  limits.unpacked_bytes = 1u << 20;  // inflating stops inside the first section
  EXPECT_TRUE(skipped_for_budget(dir / "bomb.hwp", limits));
}

TEST(Office, SearchFindsASentenceInsideATable) {
  testing::TempDir dir;
  fs::create_directories(dir / "docs" / "samples");
  write_zip(dir / "docs" / "contract.docx", {{"word/document.xml", docx_xml()}});
  for (const auto& entry : fs::directory_iterator(testing::test_data("doc-samples")))
    if (entry.path().extension() != ".txt" && entry.path().extension() != ".md")
      fs::copy_file(entry.path(), dir / "docs" / "samples" / entry.path().filename());
  IndexOptions options;
  options.folders = {dir / "docs"};
  options.no_model = true;
  const IndexSummary summary = run_index(options);
  EXPECT_GE(summary.indexed, 11u);
  auto engine = SearchEngine::open(IndexLocation::for_folder(dir / "docs"));
  SearchOptions search;
  search.k = 1;
  auto response = engine->search("보증금 반환", search);
  ASSERT_EQ(response.results.size(), 1u);
  EXPECT_EQ(response.results[0].chunk.path, "contract.docx");
  response = engine->search("C반 기말고사 국어 영어 수학", search);  // cells of the HWPX grade table
  EXPECT_EQ(response.results[0].chunk.path, "samples/hwpx-table-grades.hwpx");
  response = engine->search("입찰 공고 복지관", search);  // the distribution (encrypted) HWP
  EXPECT_EQ(response.results[0].chunk.path, "samples/hwp-distribution-tender-notice.hwp");
}

}  // namespace
}  // namespace ksearch
