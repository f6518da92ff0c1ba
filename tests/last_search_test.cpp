#include <gtest/gtest.h>

#include <filesystem>

#include "base/error.h"
#include "search/index_location.h"
#include "search/last_search.h"
#include "tests/test_support.h"

namespace ksearch {
namespace {
namespace fs = std::filesystem;

TEST(LastSearch, RoundTripsAndNamesTheResultAsked) {
  testing::TempDir dir;
  const IndexLocation location = IndexLocation::at(dir / ".ksearch");
  fs::create_directories(location.dir);
  EXPECT_THROW(
      {
        try {
          load_last_search(location);
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("no search to open yet"), std::string::npos) << e.what();
          throw;
        }
      },
      Error);
  SearchResponse response;
  for (int i = 1; i <= 3; ++i) {
    SearchHit hit;
    hit.chunk.path = cat("공지/", i, ".pdf");
    hit.chunk.line_begin = i;
    hit.chunk.line_end = i + 2;
    hit.chunk.page = i;
    hit.chunk.text = cat("본문 ", i);
    response.results.push_back(hit);
  }
  save_last_search(location, "체육관 대여", response);
  const LastSearch last = load_last_search(location);
  EXPECT_EQ(last.query, "체육관 대여");
  ASSERT_EQ(last.results.size(), 3u);
  EXPECT_EQ(last.result(2).path, "공지/2.pdf");
  EXPECT_EQ(last.result(3).page, 3);
  EXPECT_EQ(last.result(3).text, "본문 3");
  for (long long n : {0LL, 4LL, -1LL}) {
    try {
      last.result(n);
      ADD_FAILURE() << n;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()),
                cat("result ", n, " does not exist: the last search (체육관 대여) has results 1 to 3"));
    }
  }
  // Nothing else is left in the folder (the temp file was renamed into place).
  EXPECT_EQ(std::distance(fs::directory_iterator(location.dir), fs::directory_iterator()), 1);
}

TEST(LastSearch, ADamagedFileIsAnErrorNamingItAndTheField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "f.json: invalid JSON"},
      {"[]", "f.json: expected a JSON object"},
      {R"({"version": 2, "query": "q", "results": []})", "f.json: format version 2 (this ksearch reads 1)"},
      {R"({"version": 1, "results": []})", "f.json: missing field 'query'"},
      {R"({"version": 1, "query": "q", "results": {}})", "f.json: field 'results' must be an array"},
      {R"({"version": 1, "query": "q", "results": [{"path": "a", "line_begin": 1, "line_end": 1, "page": 0}]})",
       "f.json: results[0]: missing field 'text'"},
      {R"({"version": 1, "query": "q", "results": [{"path": "a", "line_begin": 5, "line_end": 2, "page": 0,
           "text": ""}]})",
       "f.json: results[0]: path 'a', lines 5-2, page 0 are not a result's"},
      {R"({"version": 1, "query": "q", "results": [{"path": "", "line_begin": 1, "line_end": 1, "page": 0,
           "text": ""}]})",
       "are not a result's"},
  };
  for (const auto& [text, expected] : cases) {
    try {
      parse_last_search(text, "f.json");
      ADD_FAILURE() << text;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << text << " -> " << e.what();
    }
  }
  EXPECT_THROW(parse_last_search(R"({"version": 1, "query": "q", "results": []})", "f.json").result(1), Error);
}

}  // namespace
}  // namespace ksearch
