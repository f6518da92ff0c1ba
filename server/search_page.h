// The search page served at `/` by a server with an index: server/page/'s HTML, CSS and JS, compiled into the binary
// (no CDN: it works offline), with headers that keep it to its own scripts.
#pragma once

#include <optional>
#include <string_view>

#include "server/api.h"

namespace ksearch {

// The page file for a GET path (`/`, `/page/app.js`, ...), or nothing for any other path.
std::optional<HttpResponse> search_page_file(std::string_view path);

}  // namespace ksearch
