// ingest/zip_archive: entries by name, sizes charged to the unpack budget before inflating, damaged archives skipped.
#include <gtest/gtest.h>

#include "ingest/document.h"
#include "ingest/zip_archive.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {

TEST(ZipArchive, ListsAndReadsEntries) {
  const std::string bytes =
      testing::repeated_zip({{"word/document.xml", "<w>", "가", 3, "</w>"}, {"empty.txt", "", "", 0, ""}});
  const ZipArchive archive(bytes);
  EXPECT_EQ(archive.names(), (std::vector<std::string>{"word/document.xml", "empty.txt"}));
  UnpackBudget budget(DocumentLimits{});
  EXPECT_EQ(archive.read("word/document.xml", budget), std::optional<std::string>("<w>가가가</w>"));
  EXPECT_EQ(archive.read("empty.txt", budget), std::optional<std::string>(""));
  EXPECT_EQ(archive.read("missing.xml", budget), std::nullopt);
  EXPECT_EQ(budget.left(), DocumentLimits{}.unpacked_bytes - std::string("<w>가가가</w>").size());
}

TEST(ZipArchive, AnEntryOverTheBudgetIsSkippedBeforeItIsInflated) {
  // 64 MiB of 'a' in a few kilobytes.
  const std::string bomb = testing::repeated_zip({{"bomb.xml", "", std::string(1024, 'a'), 64 * 1024, ""}});
  ASSERT_LT(bomb.size(), 1u << 20);
  const ZipArchive archive(bomb);
  DocumentLimits limits;
  limits.unpacked_bytes = 1 << 20;
  UnpackBudget budget(limits);
  EXPECT_THROW(archive.read("bomb.xml", budget), SkipFile);
  EXPECT_EQ(budget.left(), limits.unpacked_bytes);  // nothing was charged (or inflated)
}

TEST(ZipArchive, DamagedBytesAreSkippedWithAReason) {
  EXPECT_THROW(ZipArchive("not a zip archive at all"), SkipFile);
  std::string cut = testing::repeated_zip({{"a.xml", "<a/>", "", 0, ""}});
  cut.resize(cut.size() / 2);
  EXPECT_THROW(ZipArchive{cut}, SkipFile);
}

}  // namespace
}  // namespace ksearch
