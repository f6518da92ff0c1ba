#include "base/stop_signal.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "base/error.h"

namespace ksearch {

StopSignal::StopSignal() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (fd_ < 0) fail("cannot make a stop signal (eventfd: ", std::strerror(errno), ")");
}

StopSignal::~StopSignal() { ::close(fd_); }

void StopSignal::request() {
  requested_.store(true);
  const std::uint64_t one = 1;
  const ssize_t written = ::write(fd_, &one, sizeof one);
  static_cast<void>(written);  // the counter only fails when it would overflow, and it is already set then
}

}  // namespace ksearch
