#pragma once

#include <deque>
#include <mutex>
#include <vector>

#include <sys/eventfd.h>
#include <unistd.h>

#include "twin/base/check.hpp"

namespace cluster {

// Hands results from any thread to an I/O thread that sleeps in zmq_poll: items go through a
// mutex-protected queue, and an eventfd (pollable beside the sockets) wakes the I/O thread.
// Its length is bounded by the owner's in-flight limit: one item per request in flight.
// Shared (shared_ptr) with the completions it hands out, so a late completion after the owner
// stopped finds a closed queue instead of freed memory.
template <class T>
class completion_queue {
 public:
  completion_queue() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) { TWIN_CHECK(fd_ >= 0); }
  ~completion_queue() { ::close(fd_); }
  completion_queue(const completion_queue&) = delete;
  completion_queue& operator=(const completion_queue&) = delete;

  // Any thread. False once closed: the item is dropped because nobody is left to take it.
  bool push(T item) {
    {
      std::lock_guard lock(mutex_);
      if (closed_) return false;
      items_.push_back(std::move(item));
    }
    notify();
    return true;
  }

  // Wakes the I/O thread without an item (e.g. to make it see a stop request).
  void notify() {
    const std::uint64_t one = 1;
    // A full eventfd counter (EAGAIN) still wakes the poller, which is all we need.
    [[maybe_unused]] auto n = ::write(fd_, &one, sizeof one);
  }

  // I/O thread: takes every queued item, appending to `out`.
  void drain(std::vector<T>& out) {
    std::uint64_t count = 0;
    [[maybe_unused]] auto n = ::read(fd_, &count, sizeof count);
    std::lock_guard lock(mutex_);
    for (auto& item : items_) out.push_back(std::move(item));
    items_.clear();
  }

  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    items_.clear();
  }

  int fd() const { return fd_; }

 private:
  int fd_;
  std::mutex mutex_;
  std::deque<T> items_;
  bool closed_ = false;
};

}  // namespace cluster
