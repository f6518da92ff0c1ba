#include "server/http_parser.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

namespace ksearch {
namespace {

constexpr std::size_t kMaxHeaders = 100;

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) {
    return std::isalnum(c) || std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
  });
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Status";
  }
}

std::optional<RequestHead> parse_request_head(std::string_view head, std::size_t max_body_bytes, HeadError& error) {
  const auto fail = [&](int status, std::string message) {
    error = {status, std::move(message)};
    return std::nullopt;
  };
  RequestHead out;
  const std::size_t line_end = head.find("\r\n");
  const std::string_view line = head.substr(0, line_end);
  const std::size_t first_space = line.find(' ');
  const std::size_t last_space = line.rfind(' ');
  if (first_space == std::string_view::npos || last_space == first_space) return fail(400, "malformed request line");
  const std::string_view method = line.substr(0, first_space);
  const std::string_view target = line.substr(first_space + 1, last_space - first_space - 1);
  const std::string_view version = line.substr(last_space + 1);
  if (!is_token(method)) return fail(400, "malformed method");
  if (target.empty() || target.front() != '/' ||
      std::any_of(target.begin(), target.end(), [](unsigned char c) { return c <= 0x20 || c == 0x7F; }))
    return fail(400, "malformed request target");
  if (version == "HTTP/1.0") {
    out.keep_alive = false;
  } else if (version != "HTTP/1.1") {
    return fail(version.starts_with("HTTP/") ? 505 : 400, "unsupported HTTP version");
  }
  out.request.method = std::string(method);
  out.request.path = std::string(target);

  bool has_length = false, has_transfer_encoding = false;
  std::size_t count = 0;
  std::size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    std::size_t end = head.find("\r\n", pos);
    if (end == std::string_view::npos) end = head.size();
    const std::string_view field = head.substr(pos, end - pos);
    pos = end + 2;
    if (field.empty()) continue;
    if (++count > kMaxHeaders) return fail(431, "too many header fields");
    // RFC 9112 section 2.2: a bare CR (or LF, or NUL) in a field is rejected, not passed on.
    if (field.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos)
      return fail(400, "bare CR, LF or NUL in a header field");
    const std::size_t colon = field.find(':');
    if (colon == std::string_view::npos || !is_token(field.substr(0, colon)))
      return fail(400, "malformed header field");
    const std::string name = lower(field.substr(0, colon));
    const std::string_view value = trim(field.substr(colon + 1));
    if (name == "content-length") {
      std::size_t length = 0;
      const auto [end_ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
      if (ec != std::errc() || end_ptr != value.data() + value.size() || (has_length && length != out.content_length))
        return fail(400, "malformed Content-Length");
      if (length > max_body_bytes)
        return fail(413, "request body of " + std::to_string(length) + " bytes exceeds the limit of " +
                             std::to_string(max_body_bytes));
      out.content_length = length;
      has_length = true;
    } else if (name == "transfer-encoding") {
      has_transfer_encoding = true;
    } else if (name == "connection") {
      const std::string token = lower(value);
      if (token.find("close") != std::string::npos) out.keep_alive = false;
      if (token.find("keep-alive") != std::string::npos) out.keep_alive = true;
    } else if (name == "expect") {
      if (lower(value) != "100-continue") return fail(400, "unsupported Expect header");
      out.expects_continue = true;
    }
    auto [it, inserted] = out.request.headers.try_emplace(name, value);
    if (!inserted) it->second += ", " + std::string(value);
  }
  // Both framings in one request is how requests are smuggled past a proxy that reads the other one (RFC 9112 6.3).
  if (has_transfer_encoding && has_length) return fail(400, "both Content-Length and Transfer-Encoding are present");
  if (has_transfer_encoding) return fail(411, "chunked request bodies are not supported; send Content-Length");
  return out;
}

Framing frame_request(std::string& input, std::optional<RequestHead>& pending, std::size_t max_head_bytes,
                      std::size_t max_body_bytes, FramedRequest& out, HeadError& error) {
  if (!pending) {
    const std::size_t head_end = input.find("\r\n\r\n");
    if (head_end == std::string::npos ? input.size() > max_head_bytes : head_end > max_head_bytes) {
      error = {431, "request headers too large (the limit is " + std::to_string(max_head_bytes) + " bytes)"};
      return Framing::Failed;
    }
    if (head_end == std::string::npos) return Framing::NeedMore;
    pending = parse_request_head(std::string_view(input).substr(0, head_end), max_body_bytes, error);
    if (!pending) return Framing::Failed;
    input.erase(0, head_end + 4);
  }
  if (input.size() < pending->content_length) return Framing::NeedMore;
  out.request = std::move(pending->request);
  out.request.body = input.substr(0, pending->content_length);
  out.keep_alive = pending->keep_alive;
  input.erase(0, pending->content_length);
  pending.reset();
  return Framing::Complete;
}

std::string header_in_raw_head(std::string_view bytes, std::string_view name) {
  for (std::size_t line = bytes.find('\n'); line != std::string_view::npos; line = bytes.find('\n', line + 1)) {
    const std::string_view rest = bytes.substr(line + 1);
    if (rest.size() <= name.size() || rest[name.size()] != ':') continue;
    bool same = true;
    for (std::size_t i = 0; i < name.size() && same; ++i)
      same = std::tolower(static_cast<unsigned char>(rest[i])) == name[i];
    if (!same) continue;
    std::string_view value = rest.substr(name.size() + 1);
    value = value.substr(0, value.find_first_of("\r\n"));
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    return std::string(value);
  }
  return "";
}

std::string format_response(const HttpResponse& response, bool keep_alive, bool include_body) {
  std::string out = "HTTP/1.1 " + std::to_string(response.status) + " " + std::string(reason_phrase(response.status)) +
                    "\r\nContent-Type: " + response.content_type +
                    "\r\nContent-Length: " + std::to_string(response.body.size()) +
                    (keep_alive ? "\r\nConnection: keep-alive" : "\r\nConnection: close");
  for (const auto& [name, value] : response.headers) out.append("\r\n").append(name).append(": ").append(value);
  out += "\r\n\r\n";
  if (include_body) out += response.body;
  return out;
}

}  // namespace ksearch
