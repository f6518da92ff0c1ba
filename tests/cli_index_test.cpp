// End-to-end: the ksearch binary indexing a temp folder of Korean files (mixed formats and encodings), searching
// it, following edits and deletes, and resuming after kill -9.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include "base/error.h"
#include "base/files.h"
#include "store/chunk_store.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {
namespace fs = std::filesystem;

const std::string kModel = testing::fixture("tiny-bge-m3-xlmr").string();

void write_corpus(const fs::path& root) {
  testing::write_text(root / "seoul.md",
                      "# 서울\n\n서울특별시는 대한민국의 수도이다.\n\n서울에서 열리는 축제가 많다.\n");
  testing::write_text(root / "busan.txt", "부산광역시는 항구 도시이다. 해운대 해수욕장이 유명하다.\n");
  testing::write_text(root / "food" / "kimchi.html",
                      "<html><head><title>김치</title><script>alert('x')</script></head>"
                      "<body><p>김치는 배추를 소금에 절여 담근다.</p></body></html>");
  // CP949 (EUC-KR) text: "도서관은 월요일에 쉽니다."
  testing::write_text(root / "old" / "library.txt",
                      "\xB5\xB5\xBC\xAD\xB0\xFC\xC0\xBA \xBF\xF9\xBF\xE4\xC0\xCF\xBF\xA1 "
                      "\xBD\xB1\xB4\xCF\xB4\xD9.\n");
  testing::write_text(root / "blob.txt", std::string("\x00\x01\x02\x03\x04", 5));
  testing::write_text(root / "photo.jpg", "not indexed");
}

Json json_of(const testing::CommandResult& result) {
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return Json::parse(result.out);
}

// poppler and libcurl (with 60 libraries between them) are opened only when a PDF is read or a model downloaded: a
// search or `--version` loads neither.  ldd lists what the binary needs at start.
TEST(CliStart, NeedsNeitherPopplerNorCurlAtStart) {
  std::FILE* pipe = ::popen(("ldd '" + std::string(KSEARCH_BINARY) + "'").c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string libraries;
  char buffer[4096];
  while (const std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) libraries.append(buffer, n);
  ASSERT_EQ(::pclose(pipe), 0) << libraries;
  EXPECT_NE(libraries.find("libsqlite3"), std::string::npos) << libraries;  // ldd did list the libraries
  EXPECT_EQ(libraries.find("libpoppler"), std::string::npos) << libraries;
  EXPECT_EQ(libraries.find("libcurl"), std::string::npos) << libraries;
}

TEST(CliIndex, IndexSearchEditDelete) {
  testing::TempDir dir;
  const fs::path docs = dir / "docs";
  write_corpus(docs);
  Json summary = json_of(testing::run_ksearch({"index", docs.string(), "--model", kModel, "--json"}));
  EXPECT_EQ(summary["indexed"], 4);
  EXPECT_EQ(summary["skipped"], 1);
  EXPECT_EQ(summary["skipped_files"][0]["path"], "blob.txt");
  EXPECT_EQ(summary["other_file_types"], 1);

  // Commands find the index upward from a subfolder, like git.
  Json status = json_of(testing::run_ksearch({"status", "--json"}, "", {}, docs / "food"));
  EXPECT_EQ(status["files"], 5);
  EXPECT_EQ(status["chunks"], 4);
  EXPECT_EQ(status["model"], kModel);

  // A particle-attached query finds the bare noun (and vice versa); CP949 text is searchable.
  Json results = json_of(testing::run_ksearch({"search", "서울이", "--mode", "lexical", "--json"}, "", {}, docs));
  EXPECT_EQ(results["results"][0]["path"], "seoul.md");
  EXPECT_EQ(results["results"][0]["start_line"], 1);
  EXPECT_TRUE(results["results"][0]["page"].is_null());
  EXPECT_EQ(results["score"], "bm25");
  results = json_of(testing::run_ksearch({"search", "도서관", "--json", "-k", "1"}, "", {}, docs));
  EXPECT_EQ(results["mode"], "hybrid");
  ASSERT_EQ(results["results"].size(), 1u);
  EXPECT_EQ(results["results"][0]["path"], "old/library.txt");
  for (const char* key : {"rank", "score", "path", "chunk", "start_line", "end_line", "page", "text"})
    EXPECT_TRUE(results["results"][0].contains(key)) << key;
  results = json_of(testing::run_ksearch({"search", "김치", "--ext", "html", "--json"}, "", {}, docs));
  EXPECT_EQ(results["results"][0]["path"], "food/kimchi.html");
  EXPECT_EQ(results["results"][0]["text"].get<std::string>().find("alert"), std::string::npos);

  // Human output names what the score means.
  const auto human = testing::run_ksearch({"search", "해운대"}, "", {}, docs);
  EXPECT_NE(human.out.find("busan.txt:1:"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("dense and keyword ranks fused"), std::string::npos) << human.out;

  // Edit one file, delete another: only those are redone.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  testing::write_text(docs / "busan.txt", "부산은 영화제로도 유명하다.\n");
  fs::remove(docs / "seoul.md");
  summary = json_of(testing::run_ksearch({"index", "--json"}, "", {}, docs));
  EXPECT_EQ(summary["indexed"], 1);
  EXPECT_EQ(summary["removed"], 1);
  EXPECT_EQ(summary["unchanged"], 3);
  // Nothing found exits with 1 (as grep and rg do), still printing the JSON.
  const auto gone = testing::run_ksearch({"search", "서울", "--mode", "lexical", "--json"}, "", {}, docs);
  EXPECT_EQ(gone.exit_code, 1) << gone.err;
  EXPECT_TRUE(Json::parse(gone.out)["results"].empty());
  results = json_of(testing::run_ksearch({"search", "영화제", "--mode", "lexical", "--json"}, "", {}, docs));
  EXPECT_EQ(results["results"][0]["path"], "busan.txt");

  // Touching a file without changing it costs a hash, not an embedding.
  fs::last_write_time(docs / "busan.txt", fs::file_time_type::clock::now());
  summary = json_of(testing::run_ksearch({"index", "--json"}, "", {}, docs));
  EXPECT_EQ(summary["indexed"], 0);

  // rm drops a file from the index.
  const auto rm = testing::run_ksearch({"rm", "busan.txt"}, "", {}, docs);
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_EQ(json_of(testing::run_ksearch({"status", "--json"}, "", {}, docs))["files"], 3);
}

TEST(CliIndex, WorksWithoutAnyModel) {
  testing::TempDir dir;
  write_corpus(dir / "docs");
  // No model anywhere: the default model cannot be found, so the index is lexical-only with one notice.
  const std::map<std::string, std::string> offline = {{"HF_HOME", (dir / "hf").string()},
                                                      {"KSEARCH_MODELS", (dir / "none").string()}};
  const auto index = testing::run_ksearch({"index", (dir / "docs").string()}, "", offline);
  ASSERT_EQ(index.exit_code, 0) << index.err;
  EXPECT_NE(index.err.find("ksearch model pull dragonkue/multilingual-e5-small-ko"), std::string::npos) << index.err;
  EXPECT_NE(index.out.find("lexical only"), std::string::npos) << index.out;
  const Json results = json_of(testing::run_ksearch({"search", "해운대", "--json"}, "", offline, dir / "docs"));
  EXPECT_EQ(results["mode"], "lexical");
  EXPECT_EQ(results["results"][0]["path"], "busan.txt");
  const auto dense = testing::run_ksearch({"search", "해운대", "--mode", "dense"}, "", offline, dir / "docs");
  EXPECT_NE(dense.exit_code, 0);
  EXPECT_NE(dense.err.find("lexical only"), std::string::npos) << dense.err;
}

TEST(CliIndex, NoIndexAndBadFlagsAreClearErrors) {
  testing::TempDir dir;
  const auto none = testing::run_ksearch({"search", "x"}, "", {}, dir.path());
  EXPECT_NE(none.exit_code, 0);
  EXPECT_NE(none.err.find("no ksearch index"), std::string::npos) << none.err;
  const auto missing = testing::run_ksearch({"index", (dir / "nope").string(), "--no-model"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("no such file or folder"), std::string::npos) << missing.err;
  testing::write_text(dir / "d" / "a.txt", "가나다");
  const auto bad_spec = testing::run_ksearch({"index", (dir / "d").string(), "--model", kModel, "--index", "Bogus"});
  EXPECT_NE(bad_spec.exit_code, 0);
  EXPECT_NE(bad_spec.err.find("invalid FAISS index spec"), std::string::npos) << bad_spec.err;
}

TEST(CliIndex, DocumentLimitFlagsTakeSizesAndRefuseNonsense) {
  testing::TempDir dir;
  std::string text;
  while (text.size() < 3000) text += "한도를 넘는 긴 문서의 한 문단입니다. 문장이 계속 이어집니다.\n\n";
  testing::write_text(dir / "d" / "long.txt", text);
  const auto run = testing::run_ksearch({"index", (dir / "d").string(), "--no-model", "--json", "--max-document-bytes",
                                         "1KiB", "--max-document-chunks", "1", "--chunk-tokens", "32"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const Json summary = Json::parse(run.out);
  std::string warning;
  for (const auto& item : summary["warnings"]) warning += item["warning"].get<std::string>() + "\n";
  EXPECT_NE(warning.find("text truncated at 1024 bytes (--max-document-bytes"), std::string::npos) << warning;
  EXPECT_NE(warning.find("only the first 1 chunks indexed (--max-document-chunks"), std::string::npos) << warning;
  for (const char* bad : {"lots", "0", "-5"}) {
    const auto refused =
        testing::run_ksearch({"index", (dir / "d").string(), "--no-model", "--max-document-bytes", bad});
    EXPECT_NE(refused.exit_code, 0) << bad;
    EXPECT_NE(refused.err.find("--max-document-bytes"), std::string::npos) << refused.err;
  }
}

TEST(CliIndex, CtrlCSaysWhatWasKeptAndTheNextRunResumes) {
  testing::TempDir dir;
  const fs::path docs = dir / "docs";
  for (int i = 0; i < 600; ++i) {
    const std::string number = std::to_string(i);
    testing::write_text(docs / ("n" + number + ".txt"),
                        std::string("공지 ").append(number).append("번: 시설 대여 안내문입니다.\n"));
  }
  const fs::path err_path = dir / "stderr";
  const pid_t pid = fork();
  if (pid == 0) {
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(err, 2);
    execl(KSEARCH_BINARY, KSEARCH_BINARY, "index", docs.c_str(), "--model", kModel.c_str(), "-q",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  // Interrupt once the first group of files is committed.
  for (int i = 0; i < 2000; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (!fs::exists(docs / ".ksearch" / "index.db")) continue;
    try {
      if (ChunkStore(docs / ".ksearch" / "index.db", false).counts().chunks > 0) break;
    } catch (const Error&) {  // opened while the writer creates its tables
    }
  }
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  const std::string err = read_file(err_path);
  EXPECT_NE(err.find("of 600 files; what was committed is kept: run `ksearch index` to resume"), std::string::npos)
      << err;
  const Json summary = json_of(testing::run_ksearch({"index", "--json"}, "", {}, docs));
  EXPECT_EQ(summary["indexed"].get<int>() + summary["unchanged"].get<int>(), 600);
  // The resumed run says what it is doing, not that something was missing.
  const std::string notice = summary["notice"].get<std::string>();
  const std::string left = notice.starts_with("resuming: ") ? notice.substr(10, notice.find(' ', 10) - 10) : "";
  ASSERT_FALSE(left.empty()) << notice;
  EXPECT_GT(std::stoi(left), 0);
  EXPECT_LT(std::stoi(left), 600) << "the first group was committed";
  // What is left is what this run then does.
  EXPECT_EQ(std::stoi(left), summary["indexed"].get<int>()) << notice;
  EXPECT_NE(notice.find(" files left from an interrupted run"), std::string::npos) << notice;
  EXPECT_EQ(notice.find("missing"), std::string::npos) << notice;
  // A run that completed leaves nothing to resume.
  EXPECT_EQ(json_of(testing::run_ksearch({"index", "--json"}, "", {}, docs))["notice"], "");
}

TEST(CliIndex, FindsTheRightIndex) {
  testing::TempDir dir;
  const fs::path docs = dir / "docs";
  write_corpus(docs);
  ASSERT_EQ(testing::run_ksearch({"index", docs.string(), "--no-model", "-q"}).exit_code, 0);
  // `index .` in a subfolder updates the enclosing index instead of creating one that would hide it.
  testing::write_text(docs / "food" / "bibimbap.txt", "비빔밥은 밥에 나물을 비벼 먹는다.\n");
  Json summary = json_of(testing::run_ksearch({"index", ".", "--json"}, "", {}, docs / "food"));
  EXPECT_EQ(summary["index"], (docs / ".ksearch").string());
  EXPECT_EQ(summary["indexed"], 1);
  EXPECT_TRUE(summary["skipped_files"].empty()) << summary.dump();  // the subfolder is not walked twice
  EXPECT_FALSE(fs::exists(docs / "food" / ".ksearch"));
  EXPECT_EQ(json_of(testing::run_ksearch({"status", "--json"}, "", {}, docs))["roots"], Json::array({""}));
  // --new asks for the nested index.
  summary = json_of(testing::run_ksearch({"index", ".", "--new", "--no-model", "--json"}, "", {}, docs / "food"));
  EXPECT_EQ(summary["index"], (docs / "food" / ".ksearch").string());

  // --exclude takes one glob: the folder after it is still indexed.
  testing::write_text(dir / "ex" / "keep.txt", "남길 문서\n");
  testing::write_text(dir / "ex" / "drop.md", "뺄 문서\n");
  summary =
      json_of(testing::run_ksearch({"index", "--exclude", "*.md", (dir / "ex").string(), "--no-model", "--json"}));
  EXPECT_EQ(summary["index"], (dir / "ex" / ".ksearch").string());
  EXPECT_EQ(summary["indexed"], 1);

  // A single file is indexed into its folder's index.
  testing::write_text(dir / "single" / "memo.txt", "회의록 메모입니다.\n");
  testing::write_text(dir / "single" / "other.txt", "다른 파일\n");
  summary = json_of(testing::run_ksearch({"index", (dir / "single" / "memo.txt").string(), "--no-model", "--json"}));
  EXPECT_EQ(summary["index"], (dir / "single" / ".ksearch").string());
  EXPECT_EQ(summary["indexed"], 1);

  // Nothing supported: a clear message and a failing exit.
  testing::write_text(dir / "data" / "a.csv", "x,y\n");
  testing::write_text(dir / "data" / "b.json", "{}\n");
  testing::write_text(dir / "data" / "c.png", "png");
  const auto none = testing::run_ksearch({"index", (dir / "data").string(), "--no-model"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("0 supported files (3 others: .csv .json .png)"), std::string::npos) << none.err;
}

// Excludes and --follow-symlinks are index settings: a plain `ksearch index` keeps them, --exclude replaces the
// globs, --no-exclude clears them, and `status` shows them.
TEST(CliIndex, ExcludesPersistUntilReplacedOrCleared) {
  testing::TempDir dir;
  const fs::path docs = dir / "docs";
  testing::write_text(docs / "keep.txt", "남길 문서\n");
  testing::write_text(docs / "drafts" / "draft.txt", "초안 문서\n");
  testing::write_text(docs / "notes.md", "메모 문서\n");
  const auto indexed_paths = [&] {
    std::set<std::string> paths;
    const Json status = json_of(testing::run_ksearch({"status", "--json"}, "", {}, docs));
    EXPECT_EQ(status["skipped_files"], 0);
    const Json found = json_of(testing::run_ksearch({"search", "문서", "--json", "-k", "10"}, "", {}, docs));
    for (const auto& hit : found["results"]) paths.insert(hit["path"].get<std::string>());
    return paths;
  };
  ASSERT_EQ(testing::run_ksearch({"index", docs.string(), "--no-model", "-q", "--exclude", "drafts/"}).exit_code, 0);
  EXPECT_EQ(indexed_paths(), (std::set<std::string>{"keep.txt", "notes.md"}));
  // A plain run keeps excluding (before, it added the drafts back).
  ASSERT_EQ(testing::run_ksearch({"index", "-q"}, "", {}, docs).exit_code, 0);
  EXPECT_EQ(indexed_paths(), (std::set<std::string>{"keep.txt", "notes.md"}));
  Json status = json_of(testing::run_ksearch({"status", "--json"}, "", {}, docs));
  EXPECT_EQ(status["excludes"], Json::array({"drafts/"}));
  EXPECT_EQ(status["follow_symlinks"], false);
  const auto text = testing::run_ksearch({"status"}, "", {}, docs);
  EXPECT_NE(text.out.find("excludes   drafts/"), std::string::npos) << text.out;
  // --exclude replaces the kept globs: the drafts come back, the Markdown file goes.
  ASSERT_EQ(testing::run_ksearch({"index", "-q", "--exclude", "*.md"}, "", {}, docs).exit_code, 0);
  EXPECT_EQ(indexed_paths(), (std::set<std::string>{"keep.txt", "drafts/draft.txt"}));
  // --no-exclude clears them.
  ASSERT_EQ(testing::run_ksearch({"index", "-q", "--no-exclude"}, "", {}, docs).exit_code, 0);
  EXPECT_EQ(indexed_paths(), (std::set<std::string>{"keep.txt", "drafts/draft.txt", "notes.md"}));
  EXPECT_EQ(json_of(testing::run_ksearch({"status", "--json"}, "", {}, docs))["excludes"], Json::array());
  // The two contradict each other: a usage error.
  EXPECT_EQ(testing::run_ksearch({"index", "-q", "--no-exclude", "--exclude", "x"}, "", {}, docs).exit_code, 2);
}

// `ksearch calibrate` fits the fusion, or takes the weights by hand; status shows which.
TEST(CliCalibrate, FitsTheFusionOrTakesWeightsByHand) {
  testing::TempDir dir;
  const fs::path db = dir / "index";
  ASSERT_EQ(testing::run_ksearch({"index", (fs::path(KSEARCH_SOURCE_DIR) / "examples" / "docs").string(), "--db",
                                  db.string(), "--model", kModel, "--chunk-tokens", "64", "-q"})
                .exit_code,
            0);
  const auto set = testing::run_ksearch({"calibrate", "--db", db.string(), "--weights", "1,1"});
  EXPECT_EQ(set.exit_code, 0) << set.err;
  EXPECT_NE(set.out.find("fusion: dense 1.00, lexical 1.00 (set by hand"), std::string::npos) << set.out;
  Json fusion = json_of(testing::run_ksearch({"status", "--json", "--db", db.string()}))["fusion"];
  EXPECT_EQ(fusion["by_hand"], true) << fusion.dump();
  EXPECT_EQ(fusion["dense_weight"], 1.0);

  EXPECT_EQ(testing::run_ksearch({"calibrate", "--db", db.string(), "--weights", "1"}).exit_code, 2);
  for (const char* weights : {"-1,1", "inf,1"}) {
    const auto refused = testing::run_ksearch({"calibrate", "--db", db.string(), "--weights", weights});
    EXPECT_EQ(refused.exit_code, 1) << weights;
    EXPECT_NE(refused.err.find("not usable"), std::string::npos) << refused.err;
  }

  const Json fitted = json_of(testing::run_ksearch({"calibrate", "--db", db.string(), "--json"}));
  EXPECT_FALSE(fitted.contains("by_hand")) << fitted.dump();
  EXPECT_GT(fitted["fit_queries"].get<int>(), 0);
  fusion = json_of(testing::run_ksearch({"status", "--json", "--db", db.string()}))["fusion"];
  EXPECT_EQ(fusion, fitted);
}

// `status` says what happened: the last run, what changed on disk since, skipped files with reasons, every root,
// and whether the model is on this machine.
TEST(CliStatus, DashboardShowsLastRunChangesSkippedFilesAndModel) {
  testing::TempDir dir;
  const fs::path docs = dir / "docs";
  const fs::path model = dir / "model";
  fs::copy(kModel, model, fs::copy_options::recursive);
  testing::write_text(docs / "a.txt", "서울 문서\n");
  testing::write_text(docs / "b.txt", "부산 문서\n");
  testing::write_text(docs / "blob.txt", std::string("\x00\x01\x02\x03\x04", 5));
  ASSERT_EQ(testing::run_ksearch({"index", docs.string(), "--model", model.string(), "-q"}).exit_code, 0);
  Json status = json_of(testing::run_ksearch({"status", "--json"}, "", {}, docs));
  ASSERT_TRUE(status["last_run"].is_object()) << status.dump();
  EXPECT_EQ(status["last_run"]["added"], 2);
  EXPECT_EQ(status["last_run"]["skipped"], 1);
  EXPECT_EQ(status["last_run"]["interrupted"], false);
  EXPECT_EQ(status["changed_since_last_run"]["added"], Json::array());
  ASSERT_EQ(status["skipped"].size(), 1u);
  EXPECT_EQ(status["skipped"][0]["path"], "blob.txt");
  EXPECT_NE(status["skipped"][0]["reason"].get<std::string>().find("binary"), std::string::npos);
  EXPECT_EQ(status["root_folders"][0]["path"], docs.string());
  EXPECT_EQ(status["root_folders"][0]["exists"], true);
  EXPECT_EQ(status["model_available"], true);

  // Changes on disk since the run, found by a stat walk.
  testing::write_text(docs / "c.txt", "제주 문서\n");
  testing::write_text(docs / "a.txt", "서울 문서, 고침\n");
  fs::remove(docs / "b.txt");
  status = json_of(testing::run_ksearch({"status", "--json"}, "", {}, docs));
  EXPECT_EQ(status["changed_since_last_run"]["added"], Json::array({"c.txt"}));
  EXPECT_EQ(status["changed_since_last_run"]["modified"], Json::array({"a.txt"}));
  EXPECT_EQ(status["changed_since_last_run"]["removed"], Json::array({"b.txt"}));
  auto text = testing::run_ksearch({"status"}, "", {}, docs);
  EXPECT_NE(text.out.find("1 new, 1 modified, 1 deleted since the last run"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("skipped    blob.txt: binary"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("available locally"), std::string::npos) << text.out;

  ASSERT_EQ(testing::run_ksearch({"index", "-q"}, "", {}, docs).exit_code, 0);
  status = json_of(testing::run_ksearch({"status", "--json"}, "", {}, docs));
  EXPECT_EQ(status["last_run"]["added"], 1);
  EXPECT_EQ(status["last_run"]["changed"], 1);
  EXPECT_EQ(status["last_run"]["removed"], 1);
  EXPECT_EQ(status["changed_since_last_run"]["modified"], Json::array());

  // A run that never recorded its end was interrupted.
  {
    ChunkStore store(docs / ".ksearch" / "index.db", false);
    RunRecord run = *store.last_run();
    run.finished = 0;
    store.save_last_run(run);
  }
  status = json_of(testing::run_ksearch({"status", "--json"}, "", {}, docs));
  EXPECT_EQ(status["last_run"]["interrupted"], true);
  text = testing::run_ksearch({"status"}, "", {}, docs);
  EXPECT_NE(text.out.find("interrupted"), std::string::npos) << text.out;

  // The model folder gone: status says searches are keyword-only here.
  fs::remove_all(model);
  status = json_of(testing::run_ksearch({"status", "--json"}, "", {}, docs));
  EXPECT_EQ(status["model_available"], false);
  EXPECT_FALSE(status["model_problem"].is_null());
  text = testing::run_ksearch({"status"}, "", {}, docs);
  EXPECT_NE(text.out.find("not available here"), std::string::npos) << text.out;
}

TEST(CliShell, ReadsQueriesAndCommandsFromStdin) {
  testing::TempDir dir;
  write_corpus(dir / "docs");
  ASSERT_EQ(testing::run_ksearch({"index", (dir / "docs").string(), "--model", kModel, "-q"}).exit_code, 0);
  const auto result =
      testing::run_ksearch({}, ":k 1\n:mode lexical\n해운대\n:show 1\n:bogus\n:quit\n", {}, dir / "docs");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("k = 1"), std::string::npos);
  EXPECT_NE(result.out.find("mode = lexical"), std::string::npos);
  EXPECT_NE(result.out.find("busan.txt:1"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("해운대 해수욕장이 유명하다"), std::string::npos);
  EXPECT_NE(result.out.find("unknown command :bogus"), std::string::npos);
}

}  // namespace
}  // namespace ksearch
