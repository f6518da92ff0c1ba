// HTTP/1.1 request-head parsing (request line and headers), kept apart from the sockets so it can be fuzzed.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "server/api.h"

namespace ksearch {

struct RequestHead {
  HttpRequest request;  // method, path, lower-cased headers (body not yet read)
  std::size_t content_length = 0;
  bool keep_alive = true;         // HTTP/1.1 default, "Connection: close" ends it; HTTP/1.0 needs keep-alive
  bool expects_continue = false;  // "Expect: 100-continue"
};

struct HeadError {
  int status;  // 400 malformed or ambiguous length, 411 chunked, 413 too large, 431 too many headers, 505 version
  std::string message;
};

// Parses `head` (everything before the blank line, without it).  Returns the head, or the error to answer.
// `max_body_bytes` bounds Content-Length.
std::optional<RequestHead> parse_request_head(std::string_view head, std::size_t max_body_bytes, HeadError& error);

// A complete request taken off a connection's byte stream.
struct FramedRequest {
  HttpRequest request;  // with its body
  bool keep_alive = true;
};

enum class Framing { NeedMore, Complete, Failed };

// Takes the next request off the front of `input` (bytes received on a connection and not yet consumed) and consumes
// its bytes, whatever the split of the stream into reads.  `pending` carries a parsed head whose body is still
// arriving between calls (start with nullopt), so a head is parsed once.  Complete fills `out`; Failed fills `error`
// (the connection must end after answering it); NeedMore asks for more bytes.  Heads over `max_head_bytes`: 431.
Framing frame_request(std::string& input, std::optional<RequestHead>& pending, std::size_t max_head_bytes,
                      std::size_t max_body_bytes, FramedRequest& out, HeadError& error);

// The value of header `name` (lower-case) in raw request bytes that may be a partial or refused head (too large,
// malformed, timed out): the first line starting with the name, case-insensitively, and a colon, its value trimmed;
// empty when there is none.  Lets the transport's own error answers carry CORS headers.
std::string header_in_raw_head(std::string_view bytes, std::string_view name);

// Serialises a response (status line, Content-Type, Content-Length, Connection, the response's own headers).
// `include_body` false answers HEAD: the same head, Content-Length included, without the body.
std::string format_response(const HttpResponse& response, bool keep_alive, bool include_body = true);

std::string_view reason_phrase(int status);

}  // namespace ksearch
