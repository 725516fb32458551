#pragma once

// Runs a member_agent on a thread of its own against a real coordination store: a step every
// `step_every`, and at once when the store reports a change under the cluster's prefix (a
// member joined or died, the coordinator or the placement changed), so that a change is seen in
// about a millisecond rather than a step later.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "cluster/coordination.hpp"
#include "cluster/membership.hpp"

namespace cluster {

class agent_runner {
 public:
  struct hooks {
    // The view after each step that changed it (called on the runner's thread).
    std::function<void(const cluster_view&)> on_view;
    // A line for the node's log (called on the runner's thread).
    std::function<void(const std::string&)> on_event;
    // A placement this node published as coordinator (called on the runner's thread).
    std::function<void(const publication&)> on_published;
  };

  agent_runner(std::unique_ptr<coord::store> store, agent_options options, hooks h,
               std::chrono::milliseconds step_every = std::chrono::milliseconds(100));
  ~agent_runner();
  agent_runner(const agent_runner&) = delete;
  agent_runner& operator=(const agent_runner&) = delete;

  void start();
  // Waits until the node is a member (or `timeout` passes); false on timeout.
  bool wait_joined(std::chrono::milliseconds timeout);
  // Leaves the cluster (begin_leave) and waits until the agent has left or `timeout` passed.
  bool leave(std::chrono::milliseconds timeout);
  // Stops the thread; the lease is left to expire (a crash looks the same to the others).
  void stop();

  cluster_view view() const;
  // The agent left the cluster (a drain request, or leave()).
  bool left() const;
  bool drained() const;
  std::string store_description() const { return store_->describe(); }
  std::uint64_t placements_written() const;

 private:
  void run();

  std::unique_ptr<coord::store> store_;
  member_agent agent_;
  hooks hooks_;
  std::chrono::milliseconds step_every_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool wake_ = false;
  bool leave_ = false;
  cluster_view view_;
  std::uint64_t placements_written_ = 0;
  bool left_ = false;
  bool drained_ = false;
  bool first_step_ = true;  // the first view is reported whatever it is
  std::unique_ptr<coord::watch_handle> watch_;
  std::thread thread_;
};

}  // namespace cluster
