#include "apps/signals.hpp"

#include <signal.h>

#include <atomic>
#include <cerrno>
#include <ctime>

namespace apps {

namespace {
std::atomic<bool> terminated{false};
std::atomic<int> signal_received{0};
std::atomic<bool> reload_blocked{false};
std::atomic<bool> reload_requested{false};

sigset_t termination_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  if (reload_blocked) sigaddset(&set, SIGHUP);
  return set;
}
}  // namespace

void block_termination_signals() {
  auto set = termination_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A peer that goes away mid-write must not kill the process.
  signal(SIGPIPE, SIG_IGN);
  // A file size limit (RLIMIT_FSIZE) must fail the write (EFBIG, a `storage_unavailable` ack)
  // instead of killing the node.
  signal(SIGXFSZ, SIG_IGN);
}

void block_reload_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  reload_blocked = true;
}

bool take_reload_request() {
  return reload_requested.exchange(false);
}

bool wait_for_termination(std::chrono::milliseconds timeout) {
  if (terminated) return true;
  auto set = termination_set();
  auto ms = timeout.count() < 0 ? 0 : timeout.count();
  timespec ts{static_cast<time_t>(ms / 1000), static_cast<long>((ms % 1000) * 1000000)};
  int sig = sigtimedwait(&set, nullptr, &ts);
  if (sig == SIGHUP) reload_requested = true;
  if (sig == SIGINT || sig == SIGTERM) {
    signal_received = sig;
    terminated = true;
  }
  return terminated;
}

int termination_signal() {
  return signal_received;
}

bool termination_requested() {
  return wait_for_termination(std::chrono::milliseconds(0));
}

}  // namespace apps
