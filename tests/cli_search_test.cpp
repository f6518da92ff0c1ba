// End-to-end: what `ksearch search`, `show` and the shell print at a terminal and for editors and scripts; exit
// codes; strict input; escaping of hostile document text and file names.  Lexical indexes (no model needed).
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include "base/display_width.h"
#include "base/files.h"
#include "base/utf8.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {
namespace fs = std::filesystem;

const std::string kNotice = "2024년 상반기 체육관 및 회의실 대여 안내문.txt";

// docs/공지/<long Korean name>: twenty lines, the one about booking the gym on line 15.
fs::path write_corpus(const testing::TempDir& dir) {
  const fs::path docs = dir / "docs";
  std::string text;
  for (int line = 1; line <= 20; ++line)
    text += line == 15 ? "체육관 대관 신청은 온라인으로 합니다.\n"
                       : "일반 안내 문장 " + std::to_string(line) + "번입니다.\n";
  testing::write_text(docs / "공지" / kNotice, text);
  std::string long_text;
  for (int i = 0; i < 12; ++i)
    long_text += "도서관 열람실은 평일 오전 아홉 시부터 오후 열 시까지 운영하며 주말에는 단축 운영합니다. ";
  testing::write_text(docs / "자료" / "아주 긴 이름의 도서관 이용 규정 및 열람실 운영 세칙 최종본.md",
                      long_text + "\n");
  testing::write_text(docs / "자료" / "report.PDF.txt", "분기 보고서 요약\n");
  EXPECT_EQ(testing::run_ksearch({"index", docs.string(), "--no-model", "-q"}).exit_code, 0);
  return docs;
}

std::string without_ansi(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\x1b' && i + 1 < text.size() && text[i + 1] == '[') {
      i += 2;
      while (i < text.size() && !(text[i] >= '@' && text[i] <= '~')) ++i;
      continue;
    }
    if (text[i] != '\r') out += text[i];
  }
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(CliSearch, TerminalOutputEscapesControlCharacters) {
  testing::TempDir dir;
  const fs::path docs = dir / "docs";
  const std::string attack = "터미널 공격 \x1b]0;pwned\x07 화면 \x1b[2J 지우기 \xc2\x9b문서입니다.";
  testing::write_text(docs / "evil\x1b[31m.txt", attack + "\n");
  testing::write_text(docs / "new\nline.txt", "줄바꿈 이름 파일\n");
  ASSERT_EQ(testing::run_ksearch({"index", docs.string(), "--no-model", "-q"}).exit_code, 0);

  for (const auto& format : {"", "--vimgrep", "-l", "--format={path} {text}"}) {
    std::vector<std::string> arguments{"search", "터미널 공격", "--color=always"};
    if (*format != '\0') arguments.push_back(format);
    const auto result = testing::run_ksearch(arguments, "", {}, docs);
    ASSERT_EQ(result.exit_code, 0) << result.err;
    // Only our own colour codes (ESC [ ... m) may reach the terminal, never the document's.
    EXPECT_EQ(result.out.find("\x1b]"), std::string::npos) << format;
    EXPECT_EQ(result.out.find("\x1b[2J"), std::string::npos) << format;
    EXPECT_EQ(result.out.find("\x1b[31m"), std::string::npos) << format;
    EXPECT_EQ(result.out.find('\x07'), std::string::npos) << format;
    EXPECT_NE(result.out.find("evil\\x1b[31m.txt"), std::string::npos) << format << result.out;
  }
  const auto text = testing::run_ksearch({"search", "터미널 공격", "--vimgrep"}, "", {}, docs);
  EXPECT_NE(text.out.find("\\x1b]0;pwned\\x07"), std::string::npos) << text.out;
  // A newline in a file name cannot split a result line.
  const auto split = testing::run_ksearch({"search", "줄바꿈", "--vimgrep"}, "", {}, docs);
  EXPECT_EQ(split.out, "new\\nline.txt:1:1:줄바꿈 이름 파일\n");
  // JSON keeps the exact text (escaped by JSON's own rules).
  const auto json = testing::run_ksearch({"search", "터미널 공격", "--json"}, "", {}, docs);
  EXPECT_EQ(Json::parse(json.out)["results"][0]["text"], attack);
  EXPECT_EQ(Json::parse(json.out)["results"][0]["path"], "evil\x1b[31m.txt");
  const auto status = testing::run_ksearch({"status"}, "", {}, docs);
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(status.out.find('\x1b'), std::string::npos);
}

TEST(CliSearch, PathsAndLinesLeadToTheHit) {
  testing::TempDir dir;
  const fs::path docs = write_corpus(dir);
  const std::string hit_line = "체육관 대관 신청은 온라인으로 합니다.";
  // From the file's own folder the path is just its name, at the matching line (not the chunk's 1-20).
  auto result = testing::run_ksearch({"search", "체육관 대관 신청", "--vimgrep"}, "", {}, docs / "공지");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, kNotice + ":15:1:" + hit_line + "\n");
  result = testing::run_ksearch({"search", "대관", "--vimgrep"}, "", {}, docs / "자료");
  EXPECT_EQ(result.out,
            "../공지/" + kNotice + ":15:" + std::to_string(std::string("체육관 ").size() + 1) + ":" + hit_line + "\n");
  result = testing::run_ksearch({"search", "대관", "--vimgrep", "--absolute"}, "", {}, docs / "자료");
  EXPECT_EQ(result.out.rfind((docs / "공지" / kNotice).string() + ":15:", 0), 0u) << result.out;
  result = testing::run_ksearch({"search", "대관", "-l"}, "", {}, docs);
  EXPECT_EQ(result.out, "공지/" + kNotice + "\n");
  result = testing::run_ksearch({"search", "대관", "--format", "{rank}|{path}|{line}|{column}"}, "", {}, docs);
  EXPECT_EQ(result.out, "1|공지/" + kNotice + "|15|11\n");
  result = testing::run_ksearch({"search", "대관"}, "", {}, docs);
  EXPECT_NE(result.out.find(" 1. 공지/" + kNotice + ":15:11"), std::string::npos) << result.out;

  // show: the text around the line, the line itself marked; PATH:LINE:COLUMN as --vimgrep prints it.
  const auto shown = testing::run_ksearch({"show", kNotice + ":15:11", "-C", "2"}, "", {}, docs / "공지");
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(shown.out, "    13: 일반 안내 문장 13번입니다.\n    14: 일반 안내 문장 14번입니다.\n    15> " + hit_line +
                           "\n    16: 일반 안내 문장 16번입니다.\n    17: 일반 안내 문장 17번입니다.\n");
  const auto past = testing::run_ksearch({"show", kNotice + ":99"}, "", {}, docs / "공지");
  EXPECT_EQ(past.exit_code, 1);
  EXPECT_NE(past.err.find("line 99 is past its end (20 lines)"), std::string::npos) << past.err;
}

TEST(CliSearch, ExitCodesAndStrictInput) {
  testing::TempDir dir;
  const fs::path docs = write_corpus(dir);
  const auto nothing = testing::run_ksearch({"search", "존재하지않는말"}, "", {}, docs);
  EXPECT_EQ(nothing.exit_code, 1);
  EXPECT_NE(nothing.out.find("no results"), std::string::npos);
  for (const std::vector<std::string>& usage :
       std::vector<std::vector<std::string>>{{"search", "대관", "-k", "0"},
                                             {"search", "대관", "-k", "-1"},
                                             {"search", "대관", "--mode", "fuzzy"},
                                             {"search", "   "},
                                             {"search"},
                                             {"serach", "대관"},
                                             {"search", "대관", "--jsno"}}) {
    const auto result = testing::run_ksearch(usage, "", {}, docs);
    EXPECT_EQ(result.exit_code, 2) << usage[1] << ' ' << result.err;
  }
  EXPECT_NE(testing::run_ksearch({"search", " "}, "", {}, docs).err.find("query is empty"), std::string::npos);
  EXPECT_NE(testing::run_ksearch({"serach", "대관"}, "", {}, docs).err.find("did you mean `ksearch search`?"),
            std::string::npos);
  EXPECT_NE(testing::run_ksearch({"search", "대관", "--jsno"}, "", {}, docs).err.find("did you mean --json?"),
            std::string::npos);
  // Unquoted words are one query; the query may follow --ext without being taken for extensions.
  const auto joined = testing::run_ksearch({"search", "체육관", "대관", "--vimgrep"}, "", {}, docs);
  EXPECT_EQ(joined.out, testing::run_ksearch({"search", "체육관 대관", "--vimgrep"}, "", {}, docs).out);
  for (const auto& extension : {"txt", ".TXT", "Txt"}) {
    const auto result = testing::run_ksearch({"search", "--ext", extension, "분기", "보고서", "-l"}, "", {}, docs);
    EXPECT_EQ(result.out, "자료/report.PDF.txt\n") << extension << result.err;
  }
  EXPECT_EQ(testing::run_ksearch({"search", "분기", "--ext", "md,pdf"}, "", {}, docs).exit_code, 1);
}

TEST(CliSearch, FitsTheTerminalWidth) {
  testing::TempDir dir;
  const fs::path docs = write_corpus(dir);
  const auto result = testing::run_ksearch_in_terminal({"search", "도서관 열람실"}, 80, "", {}, docs);
  ASSERT_EQ(result.exit_code, 0) << result.out;
  EXPECT_NE(result.out.find("\x1b[1;33m"), std::string::npos);  // colour on a terminal by default
  const auto lines = lines_of(without_ansi(result.out));
  ASSERT_GE(lines.size(), 3u) << result.out;
  for (const auto& line : lines) EXPECT_LT(display_width(line), 80u) << line;
  // The long-named result's snippet: indented lines of whole words.
  EXPECT_NE(lines[1].find("1. 자료/아주 긴 이름의"), std::string::npos) << lines[1];
  for (std::size_t i = 2; i < lines.size() && !lines[i].starts_with(" 2."); ++i) {
    EXPECT_TRUE(lines[i].starts_with("    ")) << lines[i];
    EXPECT_NE(lines[i][4], ' ') << lines[i];
  }
  const auto plain = testing::run_ksearch_in_terminal({"search", "도서관", "--color=never"}, 80, "", {}, docs);
  EXPECT_EQ(plain.out.find('\x1b'), std::string::npos);

  // The progress line is cut by columns, never mid-character, to one less than the width.
  const auto index = testing::run_ksearch_in_terminal({"index", "--rebuild", "--no-model"}, 40, "", {}, docs);
  ASSERT_EQ(index.exit_code, 0) << index.out;
  std::size_t updates = 0;
  for (std::size_t at = index.out.find("\x1b[K"); at != std::string::npos; at = index.out.find("\x1b[K", at + 1)) {
    const std::size_t end = index.out.find_first_of("\r\n", at);
    const std::string update = index.out.substr(at + 3, end - at - 3);
    if (!update.starts_with("[")) continue;  // the line cleared for the summary
    EXPECT_LT(display_width(update), 40u) << update;
    EXPECT_FALSE(utf8::find_invalid(update).has_value()) << update;
    ++updates;
  }
  EXPECT_GT(updates, 0u) << index.out;
}

TEST(CliEval, OneTableOfEveryModeWithIntervals) {
  const std::string set = testing::test_data("eval/korean-ict").string();
  const auto table = testing::run_ksearch({"eval", "--beir", set, "--limit", "10", "--resamples", "100"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("95% intervals from 100 bootstrap resamples"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("\nlexical "), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("\ndense              skipped: no embedding model (give --model)"), std::string::npos)
      << table.out;
  EXPECT_NE(table.out.find("\nrerank             skipped: no cross-encoder asked"), std::string::npos) << table.out;

  const auto json_run = testing::run_ksearch({"eval", "--beir", set, "--limit", "10", "--resamples", "100", "--json"});
  ASSERT_EQ(json_run.exit_code, 0) << json_run.err;
  const Json json = parse_json(json_run.out, "eval --json");
  EXPECT_EQ(json["queries"], 10);
  EXPECT_EQ(json["bootstrap"]["resamples"], 100);
  ASSERT_EQ(json["modes"].size(), 5u);
  const Json& lexical = json["modes"][0];
  EXPECT_EQ(lexical["mode"], "lexical");
  EXPECT_LE(lexical["ndcg@10"]["low"].get<double>(), lexical["ndcg@10"]["value"].get<double>());
  EXPECT_GE(lexical["ndcg@10"]["high"].get<double>(), lexical["ndcg@10"]["value"].get<double>());
  EXPECT_EQ(json["modes"][2]["skipped"], "no embedding model (give --model)");

  const auto unknown = testing::run_ksearch({"eval", "--beir", set, "--mode", "lexical,bm25"});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("bm25"), std::string::npos) << unknown.err;
}

TEST(CliShell, ChecksSettingsAndOpensTheHit) {
  testing::TempDir dir;
  const fs::path docs = write_corpus(dir);
  const auto result =
      testing::run_ksearch({}, ":k abc\n:k 0\n:mode dense\n:mode fuzzy\n:rerank maybe\n대관\n:open 1\n:open 9\n:quit\n",
                           {{"EDITOR", "echo"}}, docs / "공지");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find(":k needs a number of 1 or more, not 'abc'"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find(":k needs a number of 1 or more, not '0'"), std::string::npos);
  EXPECT_NE(result.err.find(":mode dense: this index has no embedding model; use :mode lexical"), std::string::npos);
  EXPECT_NE(result.err.find(":mode fuzzy: use :mode dense, :mode lexical"), std::string::npos);
  EXPECT_NE(result.err.find(":rerank maybe: use :rerank on or :rerank off"), std::string::npos);
  EXPECT_EQ(result.err.find("--mode"), std::string::npos) << result.err;
  // :open runs $EDITOR +LINE FILE (here echo, which prints them).
  EXPECT_NE(result.out.find("opening " + kNotice + ":15\n+15 " + (docs / "공지" / kNotice).string() + "\n"),
            std::string::npos)
      << result.out;
  EXPECT_NE(result.err.find(":open 9: the last search had 1 results"), std::string::npos) << result.err;
}

// A fake program for `ksearch open`: an executable script that writes its arguments, one per line, to `record`.
void write_recorder(const fs::path& script, const fs::path& record) {
  testing::write_text(script, "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done > '" + record.string() + "'\n");
  fs::permissions(script, fs::perms::owner_all);
}

TEST(CliOpen, OpensTheNthResultOfTheLastSearchInTheEditorAtTheLine) {
  testing::TempDir dir;
  const fs::path docs = write_corpus(dir);
  const fs::path editor = dir / "editor.sh";
  write_recorder(editor, dir / "editor-args");
  const std::map<std::string, std::string> environment = {{"EDITOR", editor.string()}, {"VISUAL", ""}};
  const auto none = testing::run_ksearch({"open", "1"}, "", environment, docs);
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("no search to open yet in " + docs.string()), std::string::npos) << none.err;

  ASSERT_EQ(testing::run_ksearch({"search", "대관"}, "", {}, docs / "공지").exit_code, 0);
  const auto opened = testing::run_ksearch({"open", "1"}, "", environment, docs / "공지");
  ASSERT_EQ(opened.exit_code, 0) << opened.err;
  EXPECT_EQ(opened.out, "opening " + kNotice + ":15\n");
  EXPECT_EQ(read_file(dir / "editor-args"), "+15\n" + (docs / "공지" / kNotice).string() + "\n");

  for (const std::string n : {"2", "0", "-1"}) {
    const auto out_of_range = testing::run_ksearch({"open", n}, "", environment, docs);
    EXPECT_EQ(out_of_range.exit_code, 1) << n;
    EXPECT_NE(out_of_range.err.find("result " + n + " does not exist: the last search (대관) has results 1 to 1"),
              std::string::npos)
        << out_of_range.err;
  }
  EXPECT_EQ(testing::run_ksearch({"open", "first"}, "", environment, docs).exit_code, 2);

  // Without $VISUAL and $EDITOR: vi, found on PATH.
  fs::create_directories(dir / "bin");
  write_recorder(dir / "bin" / "vi", dir / "vi-args");
  const std::string path = (dir / "bin").string() + ":" + std::getenv("PATH");
  ASSERT_EQ(testing::run_ksearch({"open", "1"}, "", {{"EDITOR", ""}, {"VISUAL", ""}, {"PATH", path}}, docs).exit_code,
            0);
  EXPECT_EQ(read_file(dir / "vi-args"), "+15\n" + (docs / "공지" / kNotice).string() + "\n");

  // The shell's searches are remembered too, and `ksearch open` reads them.
  ASSERT_EQ(testing::run_ksearch({}, "열람실\n:quit\n", {}, docs).exit_code, 0);
  const auto from_shell = testing::run_ksearch({"open", "1"}, "", environment, docs);
  EXPECT_EQ(from_shell.exit_code, 0) << from_shell.err;
  EXPECT_NE(from_shell.out.find("opening 자료/아주 긴 이름의 도서관"), std::string::npos) << from_shell.out;

  fs::remove(docs / "자료" / "아주 긴 이름의 도서관 이용 규정 및 열람실 운영 세칙 최종본.md");
  const auto gone = testing::run_ksearch({"open", "1"}, "", environment, docs);
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_NE(gone.err.find("최종본.md: no longer exists"), std::string::npos) << gone.err;
}

TEST(CliOpen, DocumentsOpenWithXdgOpenNamingThePage) {
  testing::TempDir dir;
  const fs::path docs = dir / "docs";
  fs::create_directories(docs);
  fs::copy_file(testing::test_data("doc-samples/pdf-korean-bill-hancom.pdf"), docs / "법안.pdf");
  ASSERT_EQ(testing::run_ksearch({"index", docs.string(), "--no-model", "-q"}).exit_code, 0);
  fs::create_directories(dir / "bin");
  write_recorder(dir / "bin" / "xdg-open", dir / "xdg-args");
  const std::string path = (dir / "bin").string() + ":" + std::getenv("PATH");
  ASSERT_EQ(testing::run_ksearch({"search", "탄소중립위원회"}, "", {}, docs).exit_code, 0);
  const auto opened = testing::run_ksearch({"open", "1"}, "", {{"EDITOR", "vi"}, {"PATH", path}}, docs);
  ASSERT_EQ(opened.exit_code, 0) << opened.err;
  EXPECT_NE(opened.out.find("opening 법안.pdf:"), std::string::npos) << opened.out;
  EXPECT_NE(opened.out.find(" (page 1)"), std::string::npos) << opened.out;
  EXPECT_EQ(read_file(dir / "xdg-args"), (docs / "법안.pdf").string() + "\n");
}

// The shell in a pseudo-terminal, typed into step by step: each step waits until the output shows `wait_for` again,
// then types `keys` (a pause lets the line editor read them before a key that raises a signal).
std::string type_into_shell(const fs::path& working_dir, const std::vector<std::pair<std::string, std::string>>& steps,
                            int& exit_code) {
  int master = -1;
  winsize size{};
  size.ws_row = 40;
  size.ws_col = 80;
  const pid_t pid = forkpty(&master, nullptr, nullptr, &size);
  if (pid == 0) {
    if (chdir(working_dir.c_str()) != 0) _exit(127);
    setenv("TERM", "xterm", 1);
    setenv("PAGER", "cat", 1);
    setenv("HOME", working_dir.c_str(), 1);
    execl(KSEARCH_BINARY, KSEARCH_BINARY, "shell", static_cast<char*>(nullptr));
    _exit(127);
  }
  std::string out;
  std::size_t seen = 0;
  char buffer[4096];
  for (const auto& [wait_for, keys] : steps) {
    std::size_t at;
    while ((at = out.find(wait_for, seen)) == std::string::npos) {
      const ssize_t n = read(master, buffer, sizeof buffer);
      if (n <= 0) break;
      out.append(buffer, static_cast<std::size_t>(n));
    }
    if (at == std::string::npos) break;
    seen = at + wait_for.size();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (write(master, keys.data(), keys.size()) != static_cast<ssize_t>(keys.size())) break;
  }
  for (ssize_t n; (n = read(master, buffer, sizeof buffer)) > 0;) out.append(buffer, static_cast<std::size_t>(n));
  close(master);
  int status = 0;
  waitpid(pid, &status, 0);
  exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return out;
}

TEST(CliShell, CtrlCCancelsTheLineAndCtrlDEndsWithANewline) {
  testing::TempDir dir;
  const fs::path docs = write_corpus(dir);
  int exit_code = -1;
  // Half a question, Ctrl-C (the terminal raises SIGINT), a search, then Ctrl-D at an empty prompt.
  const std::string out = without_ansi(type_into_shell(
      docs, {{"ksearch> ", "반쯤 쓴 질문"}, {"질문", "\x03"}, {"ksearch> ", "대관\r"}, {"ksearch> ", "\x04"}},
      exit_code));
  EXPECT_EQ(exit_code, 0) << out;
  EXPECT_NE(out.find("공지/" + kNotice + ":15:11"), std::string::npos) << out;
  EXPECT_EQ(out.find("반쯤 쓴 질문대관"), std::string::npos) << out;
  // The prompt line ends (libedit echoes the key as ^D) so the user's own prompt starts on a fresh line.
  EXPECT_TRUE(out.ends_with("ksearch> ^D\n") || out.ends_with("ksearch> \n")) << out;
}

}  // namespace
}  // namespace ksearch
