// Request framing on a connection's byte stream (server/http_parser.h): the same requests whatever the split into
// reads, pipelining, and the refusals that end a connection.
#include "server/http_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ksearch {
namespace {

// Feeds `stream` in reads of `read_size` bytes; returns "METHOD PATH BODY keep|close" per request, then "failed N".
std::vector<std::string> frame(const std::string& stream, std::size_t read_size, std::size_t max_body = 4096) {
  std::vector<std::string> outcomes;
  std::string input;
  std::optional<RequestHead> pending;
  for (std::size_t at = 0; at < stream.size(); at += read_size) {
    input += stream.substr(at, read_size);
    while (true) {
      FramedRequest framed;
      HeadError error{};
      const Framing step = frame_request(input, pending, 1024, max_body, framed, error);
      if (step == Framing::NeedMore) break;
      if (step == Framing::Failed) {
        outcomes.push_back("failed " + std::to_string(error.status));
        return outcomes;
      }
      outcomes.push_back(framed.request.method + " " + framed.request.path + " " + framed.request.body +
                         (framed.keep_alive ? " keep" : " close"));
    }
  }
  return outcomes;
}

TEST(RequestFraming, PipelinedRequestsWhateverTheReads) {
  const std::string stream =
      "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /embed HTTP/1.1\r\nContent-Length: 17\r\n\r\n{\"inputs\": \"abc\"}"
      "POST /v1/embeddings HTTP/1.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
      "GET /info HTTP/1.0\r\n\r\n";
  const std::vector<std::string> expected = {"GET /health  keep", "POST /embed {\"inputs\": \"abc\"} keep",
                                             "POST /v1/embeddings {} close", "GET /info  close"};
  for (std::size_t read_size = 1; read_size <= stream.size(); ++read_size)
    EXPECT_EQ(frame(stream, read_size), expected) << "reads of " << read_size << " bytes";
}

TEST(RequestFraming, RefusalsEndTheStream) {
  // Request smuggling: both framings, or two different lengths.
  EXPECT_EQ(frame("POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                  "GET / HTTP/1.1\r\n\r\n",
                  7),
            std::vector<std::string>{"failed 400"});
  EXPECT_EQ(frame("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n", 100),
            std::vector<std::string>{"failed 400"});
  EXPECT_EQ(frame("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 100),
            std::vector<std::string>{"failed 400"});
  EXPECT_EQ(frame("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 100),
            std::vector<std::string>{"failed 411"});
  // A head over the limit is refused as soon as the limit is passed, ended or not.
  EXPECT_EQ(frame("GET / HTTP/1.1\r\nX-Long: " + std::string(2000, 'a'), 100), std::vector<std::string>{"failed 431"});
  EXPECT_EQ(frame("GET / HTTP/1.1\r\nX-Long: " + std::string(2000, 'a') + "\r\n\r\n", 5000),
            std::vector<std::string>{"failed 431"});
  // An over-limit body is refused from its Content-Length, before it arrives.
  EXPECT_EQ(frame("POST / HTTP/1.1\r\nContent-Length: 5000\r\n\r\n", 100), std::vector<std::string>{"failed 413"});
  // A good request before the bad one is still taken.
  EXPECT_EQ(frame("GET /a HTTP/1.1\r\n\r\nGARBAGE\r\n\r\n", 3),
            (std::vector<std::string>{"GET /a  keep", "failed 400"}));
}

TEST(RequestFraming, IncompleteRequestsWait) {
  EXPECT_TRUE(frame("GET / HTTP/1.1\r\nHost: x\r\n", 4).empty());
  EXPECT_TRUE(frame("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n12345", 4).empty());
}

// The transport reads Origin from heads it refuses, partial or malformed ones included.
TEST(HttpParser, HeaderInRawHead) {
  EXPECT_EQ(header_in_raw_head("GARBAGE\r\nHost: x\r\nORIGIN:  https://a.example \r\n\r\n", "origin"),
            "https://a.example");
  EXPECT_EQ(header_in_raw_head("GET / HTTP/1.1\r\nOrigin: https://a.example", "origin"), "https://a.example");
  EXPECT_EQ(header_in_raw_head("GET / HTTP/1.1\r\nX-Origin: b\r\nOriginal: c\r\n", "origin"), "");
  EXPECT_EQ(header_in_raw_head("Origin: first-line-is-the-request-line\r\n", "origin"), "");
  EXPECT_EQ(header_in_raw_head("", "origin"), "");
  EXPECT_EQ(header_in_raw_head("\norigin:", "origin"), "");
}

}  // namespace
}  // namespace ksearch
