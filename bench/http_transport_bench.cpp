// ksearch's HTTP transport (server/http_server.h) against the Debian libraries it could have used (issue #31):
// libmicrohttpd with epoll and a thread pool, and libevent's evhttp on one event base with a request thread pool.
// Each transport serves the same Api (the tiny fixture model) in a child process, with the same request-thread
// count, connection limit, timeouts and body limit; bench/http_load.cpp drives the load:
//   (a)  64 clients on POST /tokenize (~1 KB of Korean text; the handler runs on a request thread)
//   (a') the same with 1,000 idle keep-alive connections open, and the server's RSS while they are
//   (c)  GET /health polled by one client during a slowloris of 500 sockets
//   413  an 8 MiB upload against a 1 MiB limit: does the client receive the 413, or a reset?
//   and how long one slowloris socket (a head line per 500 ms) is kept before the server ends it
//   ksearch_http_transport_bench [--seconds 5] [--threads 16] [--repeat 3] [--load build/bench/ksearch_http_load]
// Prints a table of medians (min–max over the repeats) with ratios against ksearch's transport.
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "embed/model.h"
#include "server/api.h"
#include "server/http_server.h"

namespace {

using Clock = std::chrono::steady_clock;

struct BenchOptions {
  double seconds = 5;
  std::size_t threads = 16;
  int repeat = 3;
  std::string load;  // the ksearch_http_load binary
};

// The limits every transport is given (ksearch's defaults, but a 1 MiB body).
constexpr std::size_t kMaxBodyBytes = 1 << 20;
constexpr std::size_t kMaxConnections = 10000;
constexpr int kKeepAliveSeconds = 5;
constexpr int kReadTimeoutSeconds = 10;
constexpr std::size_t kMaxHeadBytes = 16 * 1024;
constexpr int kListenBacklog = 4096;
constexpr int kIdleConnections = 1000;
constexpr int kSlowlorisSockets = 500;

std::string work_body() {
  std::string text;
  while (text.size() < 1000) text += "서울특별시는 대한민국의 수도이자 최대 도시이며, 한강이 도시를 가로지른다. ";
  return nlohmann::json{{"inputs", text}}.dump();
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

ksearch::Api make_api(std::size_t max_body_bytes) {
  ksearch::ApiConfig config;
  config.limits.max_body_bytes = max_body_bytes;
  const std::filesystem::path fixture = std::filesystem::path(KSEARCH_SOURCE_DIR) / "tests/data/fixtures/tiny-e5-bert";
  auto embedder = std::make_shared<const ksearch::Embedder>(ksearch::Model::load_dir(fixture, "tiny-e5"));
  return ksearch::Api(config, nullptr, embedder, nullptr);
}

// Mean time of one /tokenize request in the handler alone, without a transport.
double handler_microseconds(const ksearch::Api& api) {
  const ksearch::HttpRequest request{"POST", "/tokenize", {{"content-type", "application/json"}}, work_body()};
  constexpr int kCalls = 200;
  const auto start = Clock::now();
  for (int i = 0; i < kCalls; ++i) api.handle(request);
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count() / kCalls;
}

int open_listener() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(fd, kListenBacklog) != 0) {
    std::perror("listen");
    std::exit(1);
  }
  return fd;
}

int bound_port(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  return ntohs(address.sin_port);
}

// SIGTERM ends a transport: blocked in every thread, taken by sigwait.
sigset_t block_sigterm() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

// ---- libmicrohttpd: its own epoll threads (MHD_OPTION_THREAD_POOL_SIZE) run the handler, as its docs advise for
// multi-core servers; a handler that works blocks that thread's other connections meanwhile.

struct MhdRequest {
  std::string body;
};

MHD_Result collect_header(void* headers, MHD_ValueKind, const char* key, const char* value) {
  (*static_cast<std::map<std::string, std::string>*>(headers))[lower(key)] = value ? value : "";
  return MHD_YES;
}

MHD_Result queue(MHD_Connection* connection, const ksearch::HttpResponse& answer) {
  MHD_Response* response =
      MHD_create_response_from_buffer(answer.body.size(), const_cast<char*>(answer.body.data()), MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header(response, "Content-Type", answer.content_type.c_str());
  for (const auto& [name, value] : answer.headers) MHD_add_response_header(response, name.c_str(), value.c_str());
  const MHD_Result queued = MHD_queue_response(connection, static_cast<unsigned>(answer.status), response);
  MHD_destroy_response(response);
  return queued;
}

MHD_Result mhd_handle(void* api, MHD_Connection* connection, const char* url, const char* method, const char*,
                      const char* upload, size_t* upload_size, void** state) {
  if (*state == nullptr) {
    // The head has arrived: refuse an over-limit body before reading it, as ksearch does.
    *state = new MhdRequest;
    const char* length = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Content-Length");
    if (length != nullptr && std::strtoull(length, nullptr, 10) > kMaxBodyBytes)
      return queue(connection, {413, R"({"error": {"message": "request body too large"}})"});
    return MHD_YES;
  }
  auto* request = static_cast<MhdRequest*>(*state);
  if (*upload_size > 0) {
    request->body.append(upload, *upload_size);
    *upload_size = 0;
    return MHD_YES;
  }
  ksearch::HttpRequest http{method, url, {}, std::move(request->body)};
  MHD_get_connection_values(connection, MHD_HEADER_KIND, collect_header, &http.headers);
  return queue(connection, static_cast<const ksearch::Api*>(api)->handle(http));
}

void mhd_completed(void*, MHD_Connection*, void** state, MHD_RequestTerminationCode) {
  delete static_cast<MhdRequest*>(*state);
  *state = nullptr;
}

void serve_microhttpd(const ksearch::Api& api, std::size_t threads, int listener) {
  const sigset_t signals = block_sigterm();
  MHD_Daemon* daemon = MHD_start_daemon(
      MHD_USE_EPOLL_INTERNAL_THREAD, 0, nullptr, nullptr, mhd_handle, const_cast<ksearch::Api*>(&api),
      MHD_OPTION_LISTEN_SOCKET, listener, MHD_OPTION_THREAD_POOL_SIZE, static_cast<unsigned>(threads),
      MHD_OPTION_CONNECTION_LIMIT, static_cast<unsigned>(kMaxConnections),
      // One inactivity timeout covers both idle keep-alive and a request arriving: ksearch's keep-alive.
      MHD_OPTION_CONNECTION_TIMEOUT, static_cast<unsigned>(kKeepAliveSeconds), MHD_OPTION_CONNECTION_MEMORY_LIMIT,
      static_cast<size_t>(kMaxHeadBytes * 2), MHD_OPTION_NOTIFY_COMPLETED, mhd_completed, nullptr, MHD_OPTION_END);
  if (daemon == nullptr) {
    std::fprintf(stderr, "MHD_start_daemon failed\n");
    std::exit(1);
  }
  int received = 0;
  sigwait(&signals, &received);
  MHD_stop_daemon(daemon);
}

// ---- libevent's evhttp: one event base parses and writes; handlers would block it, so complete requests go to a
// request thread pool and the responses come back to the base through an event, as a real server must do.

class EvhttpServer {
 public:
  EvhttpServer(const ksearch::Api& api, std::size_t threads, int listener) : api_(api) {
    evthread_use_pthreads();
    base_ = event_base_new();
    http_ = evhttp_new(base_);
    evhttp_set_max_body_size(http_, kMaxBodyBytes);
    evhttp_set_max_headers_size(http_, kMaxHeadBytes);
    // One timeout for idle keep-alive, reading and writing.
    evhttp_set_timeout(http_, kKeepAliveSeconds);
    evhttp_set_gencb(http_, on_request, this);
    evhttp_accept_socket_with_handle(http_, listener);
    wake_ = event_new(base_, -1, 0, on_completed, this);
    for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }
  ~EvhttpServer() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    jobs_ready_.notify_all();
    for (auto& worker : workers_) worker.join();
    event_free(wake_);
    evhttp_free(http_);
    event_base_free(base_);
  }

  void run() { event_base_dispatch(base_); }
  void stop() { event_base_loopbreak(base_); }

 private:
  // The evhttp_request stays valid until it is answered: the load's clients never leave with a request in flight.
  struct Job {
    evhttp_request* request;
    ksearch::HttpRequest http;
  };
  struct Done {
    evhttp_request* request;
    ksearch::HttpResponse response;
  };

  static void on_request(evhttp_request* request, void* self) {
    auto& server = *static_cast<EvhttpServer*>(self);
    ksearch::HttpRequest http;
    switch (evhttp_request_get_command(request)) {
      case EVHTTP_REQ_GET:
        http.method = "GET";
        break;
      case EVHTTP_REQ_POST:
        http.method = "POST";
        break;
      case EVHTTP_REQ_HEAD:
        http.method = "HEAD";
        break;
      case EVHTTP_REQ_OPTIONS:
        http.method = "OPTIONS";
        break;
      default:
        http.method = "OTHER";
        break;
    }
    http.path = evhttp_request_get_uri(request);
    const evkeyvalq* headers = evhttp_request_get_input_headers(request);
    for (const evkeyval* header = headers->tqh_first; header != nullptr; header = header->next.tqe_next)
      http.headers[lower(header->key)] = header->value;
    evbuffer* input = evhttp_request_get_input_buffer(request);
    http.body.resize(evbuffer_get_length(input));
    evbuffer_copyout(input, http.body.data(), http.body.size());
    if (ksearch::Api::answers_at_once(http)) return reply(request, server.api_.handle(http));
    {
      std::lock_guard lock(server.mutex_);
      server.jobs_.push_back({request, std::move(http)});
    }
    server.jobs_ready_.notify_one();
  }

  static void on_completed(evutil_socket_t, short, void* self) {
    auto& server = *static_cast<EvhttpServer*>(self);
    std::deque<Done> done;
    {
      std::lock_guard lock(server.mutex_);
      done.swap(server.done_);
    }
    for (Done& answer : done) reply(answer.request, answer.response);
  }

  static void reply(evhttp_request* request, const ksearch::HttpResponse& response) {
    evkeyvalq* headers = evhttp_request_get_output_headers(request);
    evhttp_add_header(headers, "Content-Type", response.content_type.c_str());
    for (const auto& [name, value] : response.headers) evhttp_add_header(headers, name.c_str(), value.c_str());
    evbuffer* body = evbuffer_new();
    evbuffer_add(body, response.body.data(), response.body.size());
    evhttp_send_reply(request, response.status, response.status == 200 ? "OK" : "Error", body);
    evbuffer_free(body);
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
      ksearch::HttpResponse response = api_.handle(job.http);
      {
        std::lock_guard lock(mutex_);
        done_.push_back({job.request, std::move(response)});
      }
      event_active(wake_, 0, 0);
    }
  }

  const ksearch::Api& api_;
  event_base* base_;
  evhttp* http_;
  event* wake_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable jobs_ready_;
  std::deque<Job> jobs_;
  std::deque<Done> done_;
  bool stopping_ = false;
};

void serve_evhttp(const ksearch::Api& api, std::size_t threads, int listener) {
  const sigset_t signals = block_sigterm();
  EvhttpServer server(api, threads, listener);
  std::thread stopper([&] {
    int received = 0;
    sigwait(&signals, &received);
    server.stop();
  });
  server.run();
  stopper.join();
}

// ---- the parent: one transport at a time in a child process.

enum class Transport { Ksearch, Microhttpd, Evhttp };
constexpr Transport kTransports[] = {Transport::Ksearch, Transport::Microhttpd, Transport::Evhttp};

std::string name(Transport transport) {
  switch (transport) {
    case Transport::Ksearch:
      return "ksearch (epoll loop)";
    case Transport::Microhttpd:
      return std::string("libmicrohttpd ") + MHD_get_version();
    case Transport::Evhttp:
      return std::string("libevent evhttp ") + event_get_version();
  }
  return "";
}

struct Child {
  pid_t pid;
  int port;
  double handler_us;
};

// Starts `transport` in a child, which reports "port handler_us" on a pipe once it listens.
Child start(Transport transport, std::size_t threads) {
  int report[2];
  if (::pipe(report) != 0) std::exit(1);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(report[0]);
    const ksearch::Api api = make_api(kMaxBodyBytes);
    const double handler_us = handler_microseconds(api);
    const auto tell = [&](int port) {
      ::dprintf(report[1], "%d %.1f\n", port, handler_us);
      ::close(report[1]);
    };
    if (transport == Transport::Ksearch) {
      ksearch::ServeOptions options;
      options.port = 0;
      options.threads = threads;
      options.max_connections = kMaxConnections;
      options.read_timeout_seconds = kReadTimeoutSeconds;
      options.keep_alive_seconds = kKeepAliveSeconds;
      ksearch::serve(api, nullptr, options, tell);
    } else {
      const int listener = open_listener();
      tell(bound_port(listener));
      if (transport == Transport::Microhttpd)
        serve_microhttpd(api, threads, listener);
      else
        serve_evhttp(api, threads, listener);
    }
    std::_Exit(0);
  }
  ::close(report[1]);
  Child child{pid, 0, 0};
  FILE* in = ::fdopen(report[0], "r");
  if (std::fscanf(in, "%d %lf", &child.port, &child.handler_us) != 2) {
    std::fprintf(stderr, "%s did not start\n", name(transport).c_str());
    std::exit(1);
  }
  std::fclose(in);
  return child;
}

void stop(const Child& child) {
  ::kill(child.pid, SIGTERM);
  ::waitpid(child.pid, nullptr, 0);
}

double rss_mib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("VmRSS:")) return std::stod(line.substr(6)) / 1024;
  return 0;
}

// Runs the load generator; `during` is called half a second into the run.  Returns its last JSON line.
nlohmann::json run_load(const BenchOptions& options, const Child& child, const std::string& arguments,
                        const std::function<void()>& during = {}) {
  const std::string command = options.load + " --port " + std::to_string(child.port) + " --seconds " +
                              std::to_string(options.seconds) + " " + arguments + " 2>&1";
  FILE* out = ::popen(command.c_str(), "r");
  if (during) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    during();
  }
  std::string last;
  char line[4096];
  while (std::fgets(line, sizeof line, out) != nullptr) last = line;
  ::pclose(out);
  try {
    return nlohmann::json::parse(last);
  } catch (const std::exception&) {
    std::fprintf(stderr, "ksearch_http_load printed: %s\n", last.c_str());
    std::exit(1);
  }
}

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) std::exit(1);
  const timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  return fd;
}

// Uploads an 8 MiB body as a client that sends it all before reading would (curl, Python requests, Node), then
// reads: what does it receive?
std::string over_limit_upload(int port) {
  const int fd = connect_to(port);
  constexpr std::size_t kBody = 8 << 20;
  const std::string head =
      "POST /tokenize HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(kBody) + "\r\n\r\n";
  ::send(fd, head.data(), head.size(), MSG_NOSIGNAL);
  const std::string chunk(64 << 10, 'x');
  std::size_t sent = 0;
  while (sent < kBody) {
    const ssize_t n = ::send(fd, chunk.data(), std::min(chunk.size(), kBody - sent), MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  char answer[256] = {};
  const ssize_t n = ::recv(fd, answer, sizeof answer - 1, 0);
  const int error = errno;
  ::close(fd);
  const std::string uploaded = "after " + std::to_string(sent >> 10) + " KiB sent";
  const std::string status_line(answer, static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
  if (status_line.starts_with("HTTP/1.1 ")) return status_line.substr(9, 3) + ", " + uploaded;
  if (n >= 0) return "closed without an answer, " + uploaded;
  return std::string(error == ECONNRESET ? "reset" : std::strerror(error)) + ", " + uploaded;
}

// Seconds until the server ends a request whose head arrives one line per 500 ms, as a slowloris sends it; the
// limit when it never does.
double trickle_cut_seconds(int port) {
  constexpr double kLimitSeconds = 15;
  const int fd = connect_to(port);
  const std::string start = "GET /health HTTP/1.1\r\nHost: bench\r\n", line = "X-Slow: 1\r\n";
  ::send(fd, start.data(), start.size(), MSG_NOSIGNAL);
  const auto begin = Clock::now();
  double elapsed = 0;
  while (elapsed < kLimitSeconds) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    elapsed = std::chrono::duration<double>(Clock::now() - begin).count();
    char answer[256];
    const bool ended =
        ::recv(fd, answer, sizeof answer, MSG_DONTWAIT) >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
    if (ended || ::send(fd, line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) break;
  }
  ::close(fd);
  return std::min(elapsed, kLimitSeconds);
}

struct Sample {
  double work_qps, work_p99, idle_qps, idle_p99, idle_rss, base_rss, health_qps, health_p99, idle_open, trickle_cut;
  std::size_t work_errors, idle_errors, health_errors;
  std::string too_large;
  double handler_us;
};

Sample measure(const BenchOptions& options, Transport transport) {
  const Child child = start(transport, options.threads);
  Sample sample{};
  sample.handler_us = child.handler_us;
  sample.base_rss = rss_mib(child.pid);
  const std::string work = "--path /tokenize --connections 64 --body '" + work_body() + "'";
  const auto a = run_load(options, child, work);
  sample.work_qps = a["qps"];
  sample.work_p99 = a["p99_ms"];
  sample.work_errors = a["errors"];
  const auto idle = run_load(options, child, work + " --idle " + std::to_string(kIdleConnections),
                             [&] { sample.idle_rss = rss_mib(child.pid); });
  sample.idle_qps = idle["qps"];
  sample.idle_p99 = idle["p99_ms"];
  sample.idle_errors = idle["errors"];
  sample.idle_open = std::stod(idle["run"].get<std::string>().substr(std::strlen("idle ")));
  const auto health = run_load(
      options, child, "--method GET --path /health --connections 1 --slowloris " + std::to_string(kSlowlorisSockets));
  sample.health_qps = health["qps"];
  sample.health_p99 = health["p99_ms"];
  sample.health_errors = health["errors"];
  sample.too_large = over_limit_upload(child.port);
  sample.trickle_cut = trickle_cut_seconds(child.port);
  stop(child);
  return sample;
}

struct Spread {
  double median, low, high;
};

Spread spread(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return {values[values.size() / 2], values.front(), values.back()};
}

std::string cell(const std::vector<double>& values, double reference, const char* format) {
  const Spread s = spread(values);
  char text[128];
  char number[32], low[32], high[32];
  std::snprintf(number, sizeof number, format, s.median);
  std::snprintf(low, sizeof low, format, s.low);
  std::snprintf(high, sizeof high, format, s.high);
  if (reference > 0)
    std::snprintf(text, sizeof text, "%s (%s–%s) ×%.2f", number, low, high, s.median / reference);
  else
    std::snprintf(text, sizeof text, "%s (%s–%s)", number, low, high);
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  BenchOptions options;
  options.load = (std::filesystem::path(argv[0]).parent_path() / "ksearch_http_load").string();
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--seconds")
      options.seconds = std::stod(value);
    else if (flag == "--threads")
      options.threads = std::stoul(value);
    else if (flag == "--repeat")
      options.repeat = std::stoi(value);
    else if (flag == "--load")
      options.load = value;
    else {
      std::fprintf(stderr, "usage: %s [--seconds 5] [--threads 16] [--repeat 3] [--load ksearch_http_load]\n", argv[0]);
      return 2;
    }
  }
  ::signal(SIGPIPE, SIG_IGN);
  std::map<Transport, std::vector<Sample>> samples;
  // Rounds interleave the transports, so a change in the machine's other load falls on all of them.
  for (int round = 0; round < options.repeat; ++round)
    for (Transport transport : kTransports) {
      samples[transport].push_back(measure(options, transport));
      std::fprintf(stderr, "round %d: %s done\n", round + 1, name(transport).c_str());
    }

  const auto column = [&](Transport transport, double Sample::*field) {
    std::vector<double> values;
    for (const Sample& sample : samples[transport]) values.push_back(sample.*field);
    return values;
  };
  const auto errors = [&](Transport transport, std::size_t Sample::*field) {
    std::size_t total = 0;
    for (const Sample& sample : samples[transport]) total += sample.*field;
    return std::to_string(total);
  };
  const auto row = [&](const char* label, double Sample::*field, const char* format, bool ratio) {
    std::printf("| %s |", label);
    const double reference = spread(column(Transport::Ksearch, field)).median;
    for (Transport transport : kTransports)
      std::printf(
          " %s |",
          cell(column(transport, field), ratio && transport != Transport::Ksearch ? reference : 0, format).c_str());
    std::printf("\n");
  };
  std::printf("%d rounds of %.0f s per load, %zu request threads; median (min–max), ×: against ksearch\n\n",
              options.repeat, options.seconds, options.threads);
  std::printf("| measure |");
  for (Transport transport : kTransports) std::printf(" %s |", name(transport).c_str());
  std::printf("\n|---|---|---|---|\n");
  row("handler alone, µs per /tokenize", &Sample::handler_us, "%.0f", false);
  row("(a) 64 clients: requests/s", &Sample::work_qps, "%.0f", true);
  row("(a) p99 ms", &Sample::work_p99, "%.1f", true);
  row("(a') + 1,000 idle: requests/s", &Sample::idle_qps, "%.0f", true);
  row("(a') p99 ms", &Sample::idle_p99, "%.1f", true);
  row("(a') idle connections held open", &Sample::idle_open, "%.0f", false);
  row("RSS MiB at start", &Sample::base_rss, "%.1f", true);
  row("RSS MiB with 1,000 idle + 64 busy", &Sample::idle_rss, "%.1f", true);
  row("(c) /health during slowloris 500: requests/s", &Sample::health_qps, "%.0f", true);
  row("(c) p99 ms", &Sample::health_p99, "%.2f", true);
  row("a head line per 0.5 s: cut off after, s (15: never)", &Sample::trickle_cut, "%.1f", false);
  std::printf("| errors (a) / (a') / (c), all rounds |");
  for (Transport transport : kTransports)
    std::printf(" %s / %s / %s |", errors(transport, &Sample::work_errors).c_str(),
                errors(transport, &Sample::idle_errors).c_str(), errors(transport, &Sample::health_errors).c_str());
  std::printf("\n| 8 MiB upload, 1 MiB limit: client reads |");
  for (Transport transport : kTransports) {
    std::string outcomes;
    for (const Sample& sample : samples[transport]) outcomes += (outcomes.empty() ? "" : "; ") + sample.too_large;
    std::printf(" %s |", outcomes.c_str());
  }
  std::printf("\n");
  return 0;
}
