// `ksearch serve`: the Api on HTTP/1.1, with connection, size and time limits, and a watcher that picks up new index
// generations while serving.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "server/api.h"

namespace ksearch {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                      // 0: any free port (reported to on_listening)
  std::size_t threads = 96;             // request threads: requests handled at once (idle connections hold none)
  std::size_t max_connections = 10000;  // open connections; more are answered 503 and closed
  int read_timeout_seconds = 10;        // a request's head and body must arrive within this (slow clients are cut off)
  int write_timeout_seconds = 30;       // a response must be taken within this (slow readers are cut off)
  int keep_alive_seconds = 5;           // idle keep-alive connections are closed after this
  double refresh_seconds = 1.0;         // how often the index generation is checked
};

// Serves until SIGINT/SIGTERM.  `on_listening` receives the bound port.  Throws Error if the address cannot be bound.
void serve(const Api& api, std::shared_ptr<SearchEngine> engine, const ServeOptions& options,
           const std::function<void(int port)>& on_listening);

// True for loopback host names and addresses.
bool is_loopback(const std::string& host);

}  // namespace ksearch
