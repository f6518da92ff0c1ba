#include "base/files.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "base/error.h"
#include "test_support.h"

namespace ksearch {
namespace {

using testing::TempDir;

std::string pattern(std::size_t size) {
  std::string text(size, '\0');
  for (std::size_t i = 0; i < size; ++i) text[i] = static_cast<char>('a' + i * 7 % 26);
  return text;
}

TEST(ReadFile, ReadsWholeFilesOfEverySize) {
  TempDir dir;
  // Around the old 64 KiB read buffer and past a few megabytes, as tokenizer models are.
  for (const std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{65535}, std::size_t{65536},
                                 std::size_t{65537}, std::size_t{5 << 20} + 3}) {
    const auto path = dir.path() / ("file-" + std::to_string(size));
    std::ofstream(path, std::ios::binary) << pattern(size);
    EXPECT_EQ(read_file(path), pattern(size)) << size;
  }
}

TEST(ReadFile, LimitReadsThePrefix) {
  TempDir dir;
  const auto path = dir.path() / "text";
  std::ofstream(path, std::ios::binary) << pattern(100000);
  EXPECT_EQ(read_file(path, 10), pattern(10));
  EXPECT_EQ(read_file(path, 100000), pattern(100000));
  EXPECT_EQ(read_file(path, 1 << 20), pattern(100000));
  EXPECT_EQ(read_file(path, 0), "");
}

TEST(ReadFile, FilesWhoseSizeIsNotKnownAheadAreReadToTheEnd) {
  // /proc files report size 0; their contents come only from reading.
  const std::string status = read_file("/proc/self/status");
  EXPECT_NE(status.find("Name:"), std::string::npos);
  EXPECT_NE(status.find("VmRSS:"), std::string::npos);
}

TEST(ReadFile, MissingFileIsAnErrorNamingIt) {
  TempDir dir;
  try {
    read_file(dir.path() / "absent.txt");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("absent.txt: cannot read"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ksearch
