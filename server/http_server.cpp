// The HTTP/1.1 transport of `ksearch serve`.  One event-loop thread owns every socket (epoll), so an open connection
// costs a socket and a small record, not a thread; a complete request goes to a pool of request threads, and its
// response comes back to the loop to be written.  Every phase has a deadline (idle keep-alive, request arrival,
// response taken), heads and bodies are bounded, and open connections are capped.  All model work happens on the
// Api's single model thread.
#include "server/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
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
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "server/http_parser.h"

namespace ksearch {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kMaxHeadBytes = 16 * 1024;
constexpr int kListenBacklog = 4096;
constexpr std::size_t kReadChunk = 64 * 1024;
// After an error answer that ends the connection, the rest of the request is read and dropped (for at most the read
// timeout and this many bytes), so a client still uploading receives the answer rather than a connection reset.
constexpr std::size_t kMaxDrainBytes = 64 << 20;
constexpr auto kSweepInterval = std::chrono::milliseconds(100);
constexpr auto kAcceptPause = std::chrono::milliseconds(100);  // out of file descriptors: accept again after this
constexpr auto kStopGrace = std::chrono::seconds(5);           // at shutdown, requests in flight may finish within this
constexpr std::size_t kQueuedRequestsPerThread = 16;           // complete requests waiting for a request thread
constexpr std::size_t kReservedDescriptors = 64;               // for the index, models and logs, beyond connections

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
    const int fd =
        ::socket(address->ai_family, address->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, address->ai_protocol);
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

// Raises the open-file limit to its hard maximum and returns how many connections it leaves room for.
std::size_t connection_capacity(std::size_t wanted) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return wanted;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  const std::size_t available = limit.rlim_cur > kReservedDescriptors ? limit.rlim_cur - kReservedDescriptors : 1;
  if (wanted > available)
    std::cerr << "ksearch: the open-file limit (" << limit.rlim_cur << ") allows " << available
              << " connections, not --max-connections " << wanted << '\n';
  return std::min(wanted, available);
}

HttpResponse transport_error(int status, const std::string& message) {
  const std::string type = status >= 500 ? "server_error" : "invalid_request_error";
  HttpResponse response;
  response.status = status;
  response.body =
      to_json_text(Json{{"error", {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}}}});
  if (status == 503) response.headers.emplace_back("Retry-After", "1");
  return response;
}

enum class Phase {
  Idle,      // waiting for the first byte of a request (keep-alive deadline)
  Reading,   // a request's head or body is arriving (read deadline)
  Handling,  // a request thread has the request; the socket is watched only for the client leaving
  Writing,   // the response is being sent (write deadline)
  Draining,  // an error was answered and our side shut: the rest of the request is read and dropped
};

// What follows a response once it is sent.
enum class After { NextRequest, Drain, Close };

struct Connection {
  int fd = -1;
  Phase phase = Phase::Idle;
  Clock::time_point deadline;
  std::string input;                // received, not yet consumed
  std::optional<RequestHead> head;  // the request whose body is arriving
  std::string output;               // the response being sent
  std::size_t sent = 0;
  After after = After::NextRequest;
  bool peer_closed = false;  // the client shut its sending side
  std::size_t drained = 0;
  std::shared_ptr<std::atomic<bool>> disconnected;
};

class Server {
 public:
  Server(const Api& api, const ServeOptions& options, int listener, int stop)
      : api_(api),
        options_(options),
        listener_(listener),
        stop_(stop),
        epoll_(::epoll_create1(EPOLL_CLOEXEC)),
        completed_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
        max_connections_(connection_capacity(std::max<std::size_t>(options.max_connections, 1))),
        threads_(std::max<std::size_t>(options.threads, 1)) {
    if (epoll_.fd() < 0 || completed_.fd() < 0) fail("cannot create the event loop: ", std::strerror(errno));
    add(listener_, EPOLLIN);
    add(stop_, EPOLLIN);
    add(completed_.fd(), EPOLLIN);
  }

  void run() {
    std::vector<std::thread> workers;
    for (std::size_t i = 0; i < threads_; ++i) workers.emplace_back([this] { work(); });
    std::vector<epoll_event> events(1024);
    auto next_sweep = Clock::now() + kSweepInterval;
    std::optional<Clock::time_point> stop_by;
    while (!stop_by || (busy() && Clock::now() < *stop_by)) {
      const int ready = ::epoll_wait(epoll_.fd(), events.data(), static_cast<int>(events.size()),
                                     static_cast<int>(kSweepInterval.count()));
      if (ready < 0 && errno != EINTR) break;
      for (int i = 0; i < ready; ++i) {
        const int fd = events[i].data.fd;
        if (fd == listener_) {
          accept_all();
        } else if (fd == stop_) {
          if (!stop_by) stop_by = Clock::now() + kStopGrace;
          begin_stop();
        } else if (fd == completed_.fd()) {
          finish_completed();
        } else if (auto it = connections_.find(fd); it != connections_.end()) {
          on_event(it->second, events[i].events);
        }
      }
      while (!buffered_.empty()) {
        const int fd = buffered_.back();
        buffered_.pop_back();
        if (auto it = connections_.find(fd); it != connections_.end() && it->second.phase == Phase::Idle)
          advance(it->second);
      }
      const auto now = Clock::now();
      if (now >= next_sweep) {
        sweep(now);
        next_sweep = now + kSweepInterval;
      }
    }
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    jobs_ready_.notify_all();
    for (auto& worker : workers) worker.join();
    for (auto& [fd, connection] : connections_) ::close(fd);
  }

 private:
  struct Job {
    int fd;
    HttpRequest request;
    bool keep_alive;
  };
  struct Completed {
    int fd;
    std::string bytes;
    std::size_t sent;  // already sent by the request thread
    bool keep_alive;
  };

  void add(int fd, std::uint32_t events) {
    epoll_event event{};
    event.events = events;
    event.data.fd = fd;
    ::epoll_ctl(epoll_.fd(), EPOLL_CTL_ADD, fd, &event);
  }
  void watch(const Connection& connection, std::uint32_t events) {
    epoll_event event{};
    event.events = events;
    event.data.fd = connection.fd;
    ::epoll_ctl(epoll_.fd(), EPOLL_CTL_MOD, connection.fd, &event);
  }

  bool busy() const {
    for (const auto& [fd, connection] : connections_)
      if (connection.phase == Phase::Handling || connection.phase == Phase::Writing) return true;
    return false;
  }

  void begin_stop() {
    accepting_ = false;
    ::epoll_ctl(epoll_.fd(), EPOLL_CTL_DEL, listener_, nullptr);
    ::epoll_ctl(epoll_.fd(), EPOLL_CTL_DEL, stop_, nullptr);
    std::vector<int> idle;
    for (const auto& [fd, connection] : connections_)
      if (connection.phase != Phase::Handling && connection.phase != Phase::Writing) idle.push_back(fd);
    for (int fd : idle) close_connection(fd);
  }

  void accept_all() {
    while (accepting_) {
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          ::epoll_ctl(epoll_.fd(), EPOLL_CTL_DEL, listener_, nullptr);
          accept_paused_until_ = Clock::now() + kAcceptPause;
        }
        return;
      }
      if (connections_.size() >= max_connections_) {
        // The socket is fresh, so the short refusal fits its send buffer.
        HttpResponse refused =
            transport_error(503, "too many open connections (" + std::to_string(max_connections_) + "); retry shortly");
        api_.add_transport_cors_headers("", refused);
        const std::string refusal = format_response(refused, false);
        (void)!::send(fd, refusal.data(), refusal.size(), MSG_NOSIGNAL);
        ::close(fd);
        continue;
      }
      const int on = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
      Connection& connection = connections_[fd];
      connection.fd = fd;
      connection.deadline = Clock::now() + std::chrono::seconds(options_.keep_alive_seconds);
      add(fd, EPOLLIN | EPOLLRDHUP);
      api_.metrics().set_open_connections(connections_.size());
    }
  }

  void close_connection(int fd) {
    ::epoll_ctl(epoll_.fd(), EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    connections_.erase(fd);
    api_.metrics().set_open_connections(connections_.size());
  }

  void on_event(Connection& connection, std::uint32_t events) {
    switch (connection.phase) {
      case Phase::Idle:
      case Phase::Reading:
        if (!receive(connection)) return close_connection(connection.fd);
        advance(connection);
        return;
      case Phase::Handling:
        // Armed once (EPOLLONESHOT): the client shut its side or the connection broke while the request runs.
        connection.peer_closed = true;
        connection.disconnected->store(true);
        return;
      case Phase::Writing:
        if ((events & (EPOLLERR | EPOLLHUP)) != 0) return close_connection(connection.fd);
        flush(connection);
        return;
      case Phase::Draining:
        drain(connection);
        return;
    }
  }

  // Reads what the socket holds, up to one request's worth beyond what is buffered.  False: the connection broke.
  bool receive(Connection& connection) {
    const std::size_t cap = kMaxHeadBytes + api_.config().limits.max_body_bytes + kReadChunk;
    char chunk[kReadChunk];
    while (connection.input.size() < cap) {
      const ssize_t n = ::recv(connection.fd, chunk, sizeof chunk, 0);
      if (n > 0) {
        connection.input.append(chunk, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) {
        connection.peer_closed = true;
        return true;
      }
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
    return true;
  }

  // Moves a connection in Idle or Reading on with what its input holds: dispatches a complete request, answers a bad
  // one, or waits for more.
  void advance(Connection& connection) {
    const auto now = Clock::now();
    if (connection.phase == Phase::Idle && !connection.input.empty()) {
      connection.phase = Phase::Reading;
      connection.deadline = now + std::chrono::seconds(options_.read_timeout_seconds);
    }
    if (connection.phase == Phase::Reading) {
      const bool had_head = connection.head.has_value();
      FramedRequest framed;
      HeadError error{};
      switch (frame_request(connection.input, connection.head, kMaxHeadBytes, api_.config().limits.max_body_bytes,
                            framed, error)) {
        case Framing::Failed:
          return answer_error(connection, error.status, error.message);
        case Framing::Complete:
          return dispatch(connection, std::move(framed.request), framed.keep_alive);
        case Framing::NeedMore:
          if (!had_head && connection.head && connection.head->expects_continue) {
            static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
            if (::send(connection.fd, kContinue.data(), kContinue.size(), MSG_NOSIGNAL) !=
                static_cast<ssize_t>(kContinue.size()))
              return close_connection(connection.fd);
          }
          break;
      }
    }
    if (connection.peer_closed && (connection.phase == Phase::Idle || connection.phase == Phase::Reading))
      close_connection(connection.fd);  // the client left without completing a request
  }

  void dispatch(Connection& connection, HttpRequest request, bool keep_alive) {
    if (Api::answers_at_once(request)) {
      keep_alive = keep_alive && !stopping();
      return respond(connection, format_response(api_.handle(request), keep_alive, request.method != "HEAD"),
                     keep_alive ? After::NextRequest : After::Close);
    }
    {
      std::lock_guard lock(mutex_);
      if (jobs_.size() < threads_ * kQueuedRequestsPerThread) {
        connection.disconnected = std::make_shared<std::atomic<bool>>(connection.peer_closed);
        request.client_disconnected = connection.disconnected;
        jobs_.push_back({connection.fd, std::move(request), keep_alive});
        connection.phase = Phase::Handling;
      }
    }
    if (connection.phase != Phase::Handling) {
      HttpResponse busy = transport_error(503, "all request threads are busy; retry shortly");
      const auto origin = request.headers.find("origin");
      api_.add_transport_cors_headers(origin != request.headers.end() ? origin->second : "", busy);
      return respond(connection, format_response(busy, keep_alive, request.method != "HEAD"),
                     keep_alive ? After::NextRequest : After::Close);
    }
    jobs_ready_.notify_one();
    watch(connection, EPOLLONESHOT | (connection.peer_closed ? 0u : static_cast<std::uint32_t>(EPOLLRDHUP)));
  }

  // Answers a request the transport refuses and ends the connection, reading the rest of what the client sends so
  // it sees the answer.  A timed-out client is not waited for again.
  void answer_error(Connection& connection, int status, const std::string& message) {
    HttpResponse refused = transport_error(status, message);
    std::string origin = header_in_raw_head(std::string_view(connection.input).substr(0, kMaxHeadBytes), "origin");
    if (connection.head) {
      const auto& headers = connection.head->request.headers;
      const auto found = headers.find("origin");
      origin = found != headers.end() ? found->second : "";
    }
    api_.add_transport_cors_headers(origin, refused);
    connection.head.reset();
    connection.input.clear();
    respond(connection, format_response(refused, false), status == 408 ? After::Close : After::Drain);
  }

  void respond(Connection& connection, std::string bytes, After after, std::size_t already_sent = 0) {
    connection.output = std::move(bytes);
    connection.sent = already_sent;
    connection.after = after;
    connection.phase = Phase::Writing;
    connection.deadline = Clock::now() + std::chrono::seconds(options_.write_timeout_seconds);
    flush(connection);
  }

  void flush(Connection& connection) {
    while (connection.sent < connection.output.size()) {
      const ssize_t n = ::send(connection.fd, connection.output.data() + connection.sent,
                               connection.output.size() - connection.sent, MSG_NOSIGNAL);
      if (n > 0) {
        connection.sent += static_cast<std::size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return watch(connection, EPOLLOUT);
      } else {
        return close_connection(connection.fd);
      }
    }
    connection.output = std::string();
    const auto now = Clock::now();
    if (connection.after == After::NextRequest && !stopping()) {
      connection.phase = Phase::Idle;
      connection.deadline = now + std::chrono::seconds(options_.keep_alive_seconds);
      watch(connection, EPOLLIN | EPOLLRDHUP);
      // A pipelined request may already be buffered; the loop takes it up (not here, which would recurse once per
      // pipelined request).
      if (!connection.input.empty() || connection.peer_closed) buffered_.push_back(connection.fd);
      return;
    }
    if (connection.after != After::Drain || connection.peer_closed) return close_connection(connection.fd);
    ::shutdown(connection.fd, SHUT_WR);
    connection.phase = Phase::Draining;
    connection.drained = 0;
    connection.deadline = now + std::chrono::seconds(options_.read_timeout_seconds);
    watch(connection, EPOLLIN | EPOLLRDHUP);
  }

  void drain(Connection& connection) {
    char chunk[kReadChunk];
    while (true) {
      const ssize_t n = ::recv(connection.fd, chunk, sizeof chunk, 0);
      if (n > 0) {
        connection.drained += static_cast<std::size_t>(n);
        if (connection.drained > kMaxDrainBytes) return close_connection(connection.fd);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      return close_connection(connection.fd);
    }
  }

  void sweep(Clock::time_point now) {
    if (accept_paused_until_ && now >= *accept_paused_until_ && accepting_) {
      accept_paused_until_.reset();
      add(listener_, EPOLLIN);
    }
    std::vector<int> expired;
    for (const auto& [fd, connection] : connections_)
      if (connection.phase != Phase::Handling && now >= connection.deadline) expired.push_back(fd);
    for (int fd : expired) {
      Connection& connection = connections_.at(fd);
      if (connection.phase == Phase::Reading)
        answer_error(connection, 408, connection.head ? "request body timed out" : "request timed out");
      else
        close_connection(fd);  // idle past keep-alive, a reader too slow to take its response, or draining done
    }
  }

  void finish_completed() {
    std::uint64_t count;
    (void)!::read(completed_.fd(), &count, sizeof count);
    std::deque<Completed> completed;
    {
      std::lock_guard lock(mutex_);
      completed.swap(completed_responses_);
    }
    for (Completed& done : completed) {
      const auto it = connections_.find(done.fd);
      if (it == connections_.end()) continue;
      Connection& connection = it->second;
      const bool keep_alive = done.keep_alive && !connection.peer_closed;
      respond(connection, std::move(done.bytes), keep_alive ? After::NextRequest : After::Close, done.sent);
    }
  }

  void work() {
    while (true) {
      Job job;
      {
        std::unique_lock lock(mutex_);
        jobs_ready_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      const HttpResponse response = api_.handle(job.request);
      const bool keep_alive = job.keep_alive && !stopping();
      Completed done{job.fd, format_response(response, keep_alive, job.request.method != "HEAD"), 0, keep_alive};
      // The loop leaves a handled connection's socket alone until it takes the response back, so this thread may
      // start sending: the client has its answer one thread hand-off sooner.  The loop sends the rest, if any.
      const ssize_t sent = ::send(job.fd, done.bytes.data(), done.bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (sent > 0) done.sent = static_cast<std::size_t>(sent);
      {
        std::lock_guard lock(mutex_);
        completed_responses_.push_back(std::move(done));
      }
      const std::uint64_t one = 1;
      (void)!::write(completed_.fd(), &one, sizeof one);
    }
  }

  bool stopping() const { return !accepting_.load(); }

  const Api& api_;
  const ServeOptions& options_;
  const int listener_;
  const int stop_;
  Socket epoll_;
  Socket completed_;  // eventfd: request threads signal finished responses
  const std::size_t max_connections_;
  const std::size_t threads_;
  std::unordered_map<int, Connection> connections_;  // owned by the loop thread
  std::vector<int> buffered_;                        // connections back to Idle with request bytes already read
  std::optional<Clock::time_point> accept_paused_until_;
  std::atomic<bool> accepting_ = true;

  std::mutex mutex_;  // guards the fields below, shared with the request threads
  std::condition_variable jobs_ready_;
  std::deque<Job> jobs_;
  std::deque<Completed> completed_responses_;
  bool stopping_ = false;
};

// SIGINT and SIGTERM wake the event loop through a pipe. A handler rather than sigwait: threads started before
// serve() (the model worker, BLAS) do not block the signals, and one of them may be the thread that receives it.
std::atomic<int> shutdown_wake_fd = -1;

extern "C" void on_shutdown_signal(int) {
  const int saved_errno = errno;
  const int fd = shutdown_wake_fd.load();
  if (fd >= 0) (void)!::write(fd, "x", 1);
  errno = saved_errno;
}

class ShutdownSignals {
 public:
  explicit ShutdownSignals(int wake_fd) {
    shutdown_wake_fd = wake_fd;
    struct sigaction action {};
    action.sa_handler = on_shutdown_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART | SA_RESETHAND;  // a second Ctrl-C ends a server stuck in its stop
    ::sigaction(SIGINT, &action, &previous_interrupt_);
    ::sigaction(SIGTERM, &action, &previous_terminate_);
  }
  ~ShutdownSignals() {
    ::sigaction(SIGINT, &previous_interrupt_, nullptr);
    ::sigaction(SIGTERM, &previous_terminate_, nullptr);
    shutdown_wake_fd = -1;
  }
  ShutdownSignals(const ShutdownSignals&) = delete;
  ShutdownSignals& operator=(const ShutdownSignals&) = delete;

 private:
  struct sigaction previous_interrupt_ {};
  struct sigaction previous_terminate_ {};
};

}  // namespace

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.starts_with("127.");
}

void serve(const Api& api, std::shared_ptr<SearchEngine> engine, const ServeOptions& options,
           const std::function<void(int port)>& on_listening) {
  ::signal(SIGPIPE, SIG_IGN);
  Socket listener(open_listener(options.host, options.port));
  int wake_pipe[2];
  if (::pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) fail("cannot create a pipe: ", std::strerror(errno));
  Socket wake_read(wake_pipe[0]), wake_write(wake_pipe[1]);
  const ShutdownSignals shutdown_signals(wake_write.fd());

  // Stopped and joined when serve() returns or throws.
  std::jthread refresher([&](std::stop_token stop) {
    while (!stop.stop_requested()) {
      std::this_thread::sleep_for(std::chrono::duration<double>(options.refresh_seconds));
      if (!engine || stop.stop_requested()) continue;
      try {
        std::string event;
        engine->refresh(&event);
        if (!event.empty()) std::cerr << "ksearch: " << event << std::endl;
      } catch (const std::exception& e) {
        std::cerr << "ksearch: index refresh failed: " << e.what() << '\n';
      }
    }
  });
  Server server(api, options, listener.fd(), wake_read.fd());
  on_listening(bound_port(listener.fd()));
  server.run();
}

}  // namespace ksearch
