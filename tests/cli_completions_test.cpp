// The shell completions and the man page the binary generates from its command definitions: bash completes
// sub-commands, options and their choices; zsh and fish accept their scripts; man renders the page without a warning.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "base/files.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {
namespace fs = std::filesystem;

// Output and exit status of a shell command line (stderr joined to stdout).
std::pair<int, std::string> shell(const std::string& command) {
  std::FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  EXPECT_NE(pipe, nullptr) << command;
  if (pipe == nullptr) return {-1, ""};
  std::string out;
  char buffer[4096];
  while (const std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  return {::pclose(pipe), out};
}

bool have(const std::string& program) { return shell("command -v " + program + " >/dev/null").first == 0; }

fs::path generated(const testing::TempDir& dir, const std::string& what, const std::string& name) {
  const auto result = testing::run_ksearch(what == "man" ? std::vector<std::string>{"manpage"}
                                                         : std::vector<std::string>{"completions", what});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  testing::write_text(dir / name, result.out);
  return dir / name;
}

TEST(CliCompletions, BashCompletesCommandsOptionsAndChoices) {
  testing::TempDir dir;
  const fs::path script = generated(dir, "bash", "ksearch.bash");
  // COMP_WORDS as bash fills it for the line typed so far; the last word is the one being completed.
  testing::write_text(dir / "complete.sh",
                      "source \"$1\"; shift; COMP_WORDS=(\"$@\"); "
                      "COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); _ksearch; echo \"${COMPREPLY[*]}\"");
  const auto complete = [&](const std::string& words) {
    return shell("bash " + (dir / "complete.sh").string() + " " + script.string() + " " + words).second;
  };
  EXPECT_EQ(complete("ksearch se"), "search serve\n");
  EXPECT_EQ(complete("ksearch search 서울 --mo"), "--mode --model\n");
  EXPECT_EQ(complete("ksearch search --mode ''"), "auto dense lexical hybrid\n");
  EXPECT_EQ(complete("ksearch search --color al"), "always\n");
  EXPECT_EQ(complete("ksearch wa"), "watch\n");
  EXPECT_EQ(complete("ksearch watch --deb"), "--debounce\n");
  EXPECT_EQ(complete("ksearch model p"), "pull\n");
  EXPECT_EQ(complete("ksearch co"), "\n") << "hidden commands are not offered";
}

TEST(CliCompletions, ZshAndFishAcceptTheirScripts) {
  testing::TempDir dir;
  if (!have("zsh") || !have("fish"))
    GTEST_SKIP() << "zsh or fish not installed (scripts/install-deps.sh installs them)";
  const auto zsh = shell("zsh -n " + generated(dir, "zsh", "_ksearch").string());
  EXPECT_EQ(zsh.first, 0) << zsh.second;
  const fs::path fish_script = generated(dir, "fish", "ksearch.fish");
  const auto fish = shell("fish -n " + fish_script.string());
  EXPECT_EQ(fish.first, 0) << fish.second;
  const auto completed = shell("fish -c \"source " + fish_script.string() + "; complete -C 'ksearch search --mode '\"");
  EXPECT_NE(completed.second.find("lexical"), std::string::npos) << completed.second;
}

TEST(CliCompletions, ManPageRendersWithoutWarnings) {
  if (!have("man")) GTEST_SKIP() << "man not installed (scripts/install-deps.sh installs man-db)";
  testing::TempDir dir;
  const fs::path page = generated(dir, "man", "ksearch.1");
  const auto warnings = shell("LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l " + page.string() + " >/dev/null");
  EXPECT_EQ(warnings.first, 0);
  EXPECT_EQ(warnings.second, "");
  const auto rendered = shell("LC_ALL=C.UTF-8 MANWIDTH=80 man -l " + page.string());
  EXPECT_NE(rendered.second.find("ksearch watch [OPTIONS] folders"), std::string::npos) << rendered.second;
  EXPECT_NE(rendered.second.find("--mode auto|dense|lexical|hybrid"), std::string::npos);
  EXPECT_NE(rendered.second.find("EXIT STATUS"), std::string::npos);
}

}  // namespace
}  // namespace ksearch
