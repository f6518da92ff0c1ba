#include "server/search_page.h"

#include <string>

#include "server/page_files.h"

namespace ksearch {
namespace {

constexpr std::string_view kPrefix = "/page/";

std::string content_type(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  return "application/octet-stream";
}

}  // namespace

std::optional<HttpResponse> search_page_file(std::string_view path) {
  std::string_view name;
  if (path == "/")
    name = "index.html";
  else if (path.starts_with(kPrefix))
    name = path.substr(kPrefix.size());
  else
    return std::nullopt;
  for (const page_files::File& file : page_files::kFiles) {
    if (file.name != name) continue;
    HttpResponse response;
    response.body = std::string(file.bytes);
    response.content_type = content_type(name);
    // Scripts and styles only from the page's own files (no inline code), calls only to this server, and no framing.
    response.headers = {{"Content-Security-Policy",
                         "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                         "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
                        {"X-Content-Type-Options", "nosniff"},
                        {"Referrer-Policy", "no-referrer"},
                        {"X-Frame-Options", "DENY"},
                        {"Cache-Control", "no-cache"}};
    return response;
  }
  return std::nullopt;
}

}  // namespace ksearch
