// A request to stop that a signal handler may make: one flag and an eventfd that waiting code polls beside its own
// descriptors.  Whoever installs the handler owns it, so it outlives every waiter that borrows it.
#pragma once

#include <atomic>

namespace ksearch {

class StopSignal {
 public:
  StopSignal();  // throws Error when no eventfd can be made
  ~StopSignal();
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

  // Async-signal-safe (an atomic store and one write(2)); any thread may call it, any number of times.
  void request();
  bool requested() const { return requested_.load(); }
  // Readable (POLLIN) from the first request on; nobody reads it, so it stays readable.
  int fd() const { return fd_; }

 private:
  std::atomic<bool> requested_{false};
  int fd_ = -1;
};

}  // namespace ksearch
