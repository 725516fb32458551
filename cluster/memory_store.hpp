#pragma once

// A linearizable in-memory coordination store with etcd's semantics (revisions, leases, txn,
// watches from a past revision, compaction), on an injected clock. The deterministic cluster
// simulation runs on it; the contract tests (tests/cluster/coordination.test.cpp) run the same
// cases against it and against a real etcd, so the two cannot drift apart.
//
// Every operation is atomic under one mutex. Watch batches are delivered in revision order, one
// delivery at a time, outside that mutex (a callback may call the store): on a single thread
// each write's batches are delivered before the write returns.

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "cluster/coordination.hpp"

namespace cluster::coord {

class memory_store final : public store {
 public:
  using clock_fn = std::function<std::chrono::steady_clock::time_point()>;

  // `now` drives lease expiry (a lease expires when now >= its deadline; checked at every call
  // and by expire_leases()). Without one, the steady clock.
  explicit memory_store(clock_fn now = {});
  ~memory_store() override;

  result<lease_id> lease_grant(std::chrono::milliseconds ttl) override;
  result<std::chrono::seconds> lease_keepalive(lease_id id) override;
  result<std::monostate> lease_revoke(lease_id id) override;
  result<range_result> range(const std::string& key, const std::string& range_end = {},
                             revision at = 0) override;
  result<revision> put(const std::string& key, const std::string& value,
                       lease_id lease = 0) override;
  result<revision> erase(const std::string& key, const std::string& range_end = {}) override;
  result<txn_result> txn(const std::vector<compare>& compares,
                         const std::vector<operation>& success,
                         const std::vector<operation>& failure = {}) override;
  std::unique_ptr<watch_handle> watch(const std::string& key, const std::string& range_end,
                                      revision from,
                                      std::function<void(const watch_batch&)> on_batch) override;
  std::string describe() const override { return "in-memory store"; }

  // Ends every lease whose deadline has passed (as the store's own lease reaper would).
  void expire_leases();
  result<std::monostate> compact(revision rev) override;
  // While unavailable, every call fails with errc::unavailable and nothing changes (a store that
  // cannot be reached); leases do not expire meanwhile only if their holders keep calling after.
  void set_available(bool available);
  revision current_revision() const;

  struct watcher;

 private:
  struct lease_state {
    std::chrono::seconds ttl{0};
    std::chrono::steady_clock::time_point deadline;
    std::set<std::string> keys;
  };
  struct history_entry {
    revision rev;
    watch_event event;
  };
  struct pending_delivery {
    std::shared_ptr<watcher> to;
    watch_batch batch;
  };

  std::chrono::steady_clock::time_point now() const;
  result<std::monostate> check_available() const;
  void expire_locked();
  // The mutations, under mutex_, each appending what watchers must see to `events`.
  void put_locked(const std::string& key, const std::string& value, lease_id lease, revision rev,
                  std::vector<watch_event>& events);
  std::size_t erase_locked(const std::string& key, const std::string& range_end, revision rev,
                           std::vector<watch_event>& events);
  range_result range_locked(const std::string& key, const std::string& range_end) const;
  bool holds_locked(const compare& c) const;
  // Records the events of one revision and queues them for the watchers they concern.
  void publish_locked(std::vector<watch_event>& events);
  // Delivers queued batches unless another thread is already doing so.
  void deliver(std::unique_lock<std::mutex> lock);

  clock_fn now_;
  mutable std::mutex mutex_;
  bool available_ = true;
  revision revision_ = 1;  // as etcd: a fresh store is at revision 1
  revision compacted_ = 0;
  lease_id next_lease_ = 0x1000;
  std::map<std::string, key_value> keys_;
  std::map<lease_id, lease_state> leases_;
  std::vector<history_entry> history_;
  std::vector<std::shared_ptr<watcher>> watchers_;
  std::deque<pending_delivery> pending_;
  bool delivering_ = false;
};

}  // namespace cluster::coord
