#include "cluster/agent_runner.hpp"

#include <utility>

namespace cluster {

agent_runner::agent_runner(std::unique_ptr<coord::store> store, agent_options options, hooks h,
                           std::chrono::milliseconds step_every)
    : store_(std::move(store)),
      agent_(*store_, std::move(options)),
      hooks_(std::move(h)),
      step_every_(step_every) {}

agent_runner::~agent_runner() {
  stop();
}

void agent_runner::start() {
  const std::string prefix = agent_.prefix();
  // The watch only wakes the runner; the step reads the store itself, so a lost or compacted
  // watch costs at most one step of delay.
  watch_ = store_->watch(prefix, coord::prefix_end(prefix), 0, [this](const coord::watch_batch&) {
    std::lock_guard lock(mutex_);
    wake_ = true;
    cv_.notify_all();
  });
  thread_ = std::thread([this] { run(); });
}

void agent_runner::run() {
  for (;;) {
    bool leave = false;
    {
      std::unique_lock lock(mutex_);
      cv_.wait_for(lock, step_every_, [this] { return stop_ || wake_ || leave_; });
      if (stop_) return;
      wake_ = false;
      leave = leave_;
    }
    if (leave) agent_.begin_leave();
    agent_.step(std::chrono::steady_clock::now());
    auto events = agent_.take_events();
    auto published = agent_.take_publications();
    if (hooks_.on_published)
      for (const auto& p : published) hooks_.on_published(p);
    if (hooks_.on_event)
      for (const auto& e : events) hooks_.on_event(e.text);
    cluster_view v = agent_.view();
    bool changed = false;
    {
      std::lock_guard lock(mutex_);
      changed = first_step_ || v.epoch != view_.epoch || v.member != view_.member ||
                v.store_reachable != view_.store_reachable || v.members != view_.members ||
                v.coordinator != view_.coordinator;
      first_step_ = false;
      view_ = v;
      placements_written_ = agent_.placements_written();
      left_ = agent_.left();
      drained_ = agent_.drained();
      cv_.notify_all();
    }
    if (changed && hooks_.on_view) hooks_.on_view(v);
    if (agent_.left()) return;
  }
}

bool agent_runner::wait_joined(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  // Joined once a published placement has taken this incarnation into account.
  return cv_.wait_for(lock, timeout, [this] {
    if (!view_.member) return false;
    for (const auto& m : view_.placement.members)
      if (m.incarnation == view_.incarnation) return true;
    return false;
  });
}

bool agent_runner::leave(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (!thread_.joinable()) return false;
  leave_ = true;
  cv_.notify_all();
  return cv_.wait_for(lock, timeout, [this] { return left_; });
}

void agent_runner::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  watch_.reset();
}

cluster_view agent_runner::view() const {
  std::lock_guard lock(mutex_);
  return view_;
}

bool agent_runner::left() const {
  std::lock_guard lock(mutex_);
  return left_;
}

bool agent_runner::drained() const {
  std::lock_guard lock(mutex_);
  return drained_;
}

std::uint64_t agent_runner::placements_written() const {
  std::lock_guard lock(mutex_);
  return placements_written_;
}

}  // namespace cluster
