// ingest/file_walker, glob and walked_file: ignore rules, hidden folders, links, and reads that stay where the walk
// went.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "base/files.h"
#include "base/hash.h"
#include "ingest/document.h"
#include "ingest/file_walker.h"
#include "ingest/glob.h"
#include "ingest/text_stream.h"
#include "ingest/walked_file.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {
namespace fs = std::filesystem;

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

}  // namespace
}  // namespace ksearch
