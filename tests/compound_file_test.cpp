// ingest/compound_file: the OLE2 container of HWP 5.0, read from a real sample; damage is a SkipFile, never a crash.
#include <gtest/gtest.h>

#include <algorithm>

#include "base/files.h"
#include "ingest/compound_file.h"
#include "ingest/document.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {

const std::string kSample = "doc-samples/hwp-fields-korean-prose.hwp";

TEST(CompoundFile, ListsStoragesAndReadsStreamsOfAnHwpFile) {
  const std::string bytes = read_file(testing::test_data(kSample));
  const CompoundFile file(bytes);
  const auto top = file.list("");
  for (const char* name : {"FileHeader", "DocInfo", "BodyText"})
    EXPECT_NE(std::find(top.begin(), top.end(), name), top.end()) << name;
  EXPECT_EQ(file.list("BodyText").front(), "Section0");
  const auto header = file.read("FileHeader");
  ASSERT_TRUE(header.has_value());
  EXPECT_TRUE(header->starts_with("HWP Document File")) << header->substr(0, 32);
  EXPECT_TRUE(file.read("BodyText/Section0").has_value());
  EXPECT_EQ(file.read("BodyText/Section99"), std::nullopt);
  EXPECT_EQ(file.read("NoSuchStorage/Section0"), std::nullopt);
}

TEST(CompoundFile, DamagedFilesAreSkippedNotReadOutOfBounds) {
  const std::string bytes = read_file(testing::test_data(kSample));
  EXPECT_THROW(CompoundFile(std::string_view(bytes).substr(0, 300)), SkipFile);  // cut inside the header
  EXPECT_THROW(CompoundFile("not a compound file"), SkipFile);
  // Every sector pointer of the header's FAT list pointed past the end of the file.
  std::string damaged = bytes;
  for (std::size_t at = 0x4C; at < 0x200; ++at) damaged[at] = '\x7F';
  EXPECT_THROW(
      {
        const CompoundFile file(damaged);
        static_cast<void>(file.read("BodyText/Section0"));
      },
      SkipFile);
}

}  // namespace
}  // namespace ksearch
