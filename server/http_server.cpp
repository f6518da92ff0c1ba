// A small HTTP/1.1 server: one accept thread with a deep listen backlog, a pool of connection threads (each
// keep-alive connection holds one while it is open), per-request deadlines against slow clients, and bounded
// header and body sizes.  All model work happens on the Api's single model thread.
#include "server/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <iostream>
#include <mutex>
#include <thread>

#include "base/error.h"
#include "base/json.h"
#include "server/http_parser.h"

namespace ksearch {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kMaxHeadBytes = 16 * 1024;
constexpr int kListenBacklog = 1024;

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

int open_listener(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string name = host == "localhost" ? "127.0.0.1" : host;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(name.empty() ? nullptr : name.c_str(), service.c_str(), &hints, &found); rc != 0)
    fail("cannot resolve host '", host, "': ", ::gai_strerror(rc));
  std::string problem = "no usable address";
  for (addrinfo* address = found; address != nullptr; address = address->ai_next) {
    const int fd = ::socket(address->ai_family, address->ai_socktype | SOCK_CLOEXEC, address->ai_protocol);
    if (fd < 0) continue;
    const int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (::bind(fd, address->ai_addr, address->ai_addrlen) == 0 && ::listen(fd, kListenBacklog) == 0) {
      ::freeaddrinfo(found);
      return fd;
    }
    problem = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(found);
  fail("cannot listen on ", host, ":", port, ": ", problem);
}

int bound_port(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  if (address.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&address)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Reads more bytes into `buffer` before `deadline`; false on timeout, close or error.
bool receive(int fd, std::string& buffer, Clock::time_point deadline) {
  const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (remaining <= 0) return false;
  pollfd wait{fd, POLLIN, 0};
  if (::poll(&wait, 1, static_cast<int>(remaining)) <= 0) return false;
  char chunk[16384];
  const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
  if (n <= 0) return false;
  buffer.append(chunk, static_cast<std::size_t>(n));
  return true;
}

HttpResponse transport_error(int status, const std::string& message) {
  const std::string type = status >= 500 ? "server_error" : "invalid_request_error";
  return {status, to_json_text(Json{{"error", {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}}}}),
          "application/json"};
}

class Server {
 public:
  Server(const Api& api, const ServeOptions& options) : api_(api), options_(options) {}

  void handle_connection(int fd) {
    Socket socket(fd);
    const int on = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    std::string buffer;
    const auto read_budget = std::chrono::seconds(options_.read_timeout_seconds);
    const auto idle_budget = std::chrono::seconds(options_.keep_alive_seconds);
    while (!stopping_) {
      // Idle keep-alive connections wait at most keep_alive_seconds for the next request; once a request has
      // started, the whole head and body must arrive within read_timeout_seconds (slow clients are cut off).
      if (buffer.empty()) {
        std::string first;
        if (!receive(fd, first, Clock::now() + idle_budget)) return;
        buffer = std::move(first);
      }
      const auto deadline = Clock::now() + read_budget;
      std::size_t head_end;
      while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
        if (buffer.size() > kMaxHeadBytes) {
          send_all(fd, format_response(transport_error(431, "request headers too large"), false));
          return;
        }
        if (!receive(fd, buffer, deadline)) {
          if (!buffer.empty()) send_all(fd, format_response(transport_error(408, "request timed out"), false));
          return;
        }
      }
      HeadError error{};
      auto head = parse_request_head(std::string_view(buffer).substr(0, head_end), api_.config().limits.max_body_bytes,
                                     error);
      if (!head) {
        send_all(fd, format_response(transport_error(error.status, error.message), false));
        return;
      }
      buffer.erase(0, head_end + 4);
      if (head->expects_continue && buffer.size() < head->content_length &&
          !send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n"))
        return;
      while (buffer.size() < head->content_length)
        if (!receive(fd, buffer, deadline)) {
          send_all(fd, format_response(transport_error(408, "request body timed out"), false));
          return;
        }
      head->request.body = buffer.substr(0, head->content_length);
      buffer.erase(0, head->content_length);
      const HttpResponse response = api_.handle(head->request);
      const bool keep_alive = head->keep_alive && !stopping_;
      if (!send_all(fd, format_response(response, keep_alive)) || !keep_alive) return;
    }
  }

  void run(int listener, int wake, std::size_t threads) {
    std::vector<std::thread> workers;
    for (std::size_t i = 0; i < threads; ++i)
      workers.emplace_back([this] {
        while (true) {
          int fd;
          {
            std::unique_lock lock(mutex_);
            ready_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
            if (pending_.empty()) return;
            fd = pending_.front();
            pending_.pop_front();
          }
          handle_connection(fd);
        }
      });
    while (true) {
      pollfd waits[2] = {{listener, POLLIN, 0}, {wake, POLLIN, 0}};
      if (::poll(waits, 2, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (waits[1].revents != 0) break;
      const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      std::unique_lock lock(mutex_);
      if (pending_.size() >= threads * 4) {  // far more connections than threads: refuse quickly, stay bounded
        lock.unlock();
        send_all(fd, format_response(transport_error(503, "too many connections; retry shortly"), false));
        ::close(fd);
        continue;
      }
      pending_.push_back(fd);
      lock.unlock();
      ready_.notify_one();
    }
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
    for (auto& worker : workers) worker.join();
    for (int fd : pending_) ::close(fd);
  }

 private:
  const Api& api_;
  const ServeOptions& options_;
  std::atomic<bool> stopping_ = false;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<int> pending_;
};

}  // namespace

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.starts_with("127.");
}

void serve(const Api& api, std::shared_ptr<SearchEngine> engine, const ServeOptions& options,
           const std::function<void(int port)>& on_listening) {
  // Signals are taken by one thread (sigwait), which wakes the accept loop to stop cleanly.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  Socket listener(open_listener(options.host, options.port));
  int wake_pipe[2];
  if (::pipe2(wake_pipe, O_CLOEXEC) != 0) fail("cannot create a pipe: ", std::strerror(errno));
  Socket wake_read(wake_pipe[0]), wake_write(wake_pipe[1]);

  std::atomic<bool> stopping = false;
  std::thread signal_thread([&] {
    int received = 0;
    sigwait(&signals, &received);
    stopping = true;
    (void)!::write(wake_write.fd(), "x", 1);
  });
  std::thread refresher([&] {
    while (!stopping) {
      std::this_thread::sleep_for(std::chrono::duration<double>(options.refresh_seconds));
      if (!engine || stopping) continue;
      try {
        std::string event;
        engine->refresh(&event);
        if (!event.empty()) std::cerr << "ksearch: " << event << std::endl;
      } catch (const std::exception& e) {
        std::cerr << "ksearch: index refresh failed: " << e.what() << '\n';
      }
    }
  });
  on_listening(bound_port(listener.fd()));
  Server server(api, options);
  server.run(listener.fd(), wake_read.fd(), std::max<std::size_t>(options.threads, 4));
  stopping = true;
  pthread_kill(signal_thread.native_handle(), SIGTERM);  // in case the loop ended for another reason
  signal_thread.join();
  refresher.join();
}

}  // namespace ksearch
