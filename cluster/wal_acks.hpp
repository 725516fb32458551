#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "cluster/completion_queue.hpp"
#include "cluster/wal.hpp"
#include "twin/base/check.hpp"

namespace cluster::wal {

// An item whose record's fate is known: `durable` (lsn <= the durable LSN), or not, after a
// failed fdatasync (ack it storage_unavailable).
template <class T>
struct committed {
  T item;
  std::uint64_t lsn = 0;
  bool durable = false;
};

// Acks that wait for the group commit (`power` durability) without making anyone wait: the
// ingest thread parks an item with the LSN of its last record (add), the syncer's on_commit
// callback releases every item at or below the durable LSN (commit), and the I/O thread polls
// fd() beside its sockets and takes them (drain), in LSN order.
template <class T>
class durable_acks {
 public:
  // pending_max: the owner's bound on batches in flight (one item each).
  explicit durable_acks(std::size_t pending_max) : pending_max_(pending_max) {}

  // Ingest thread. LSNs never go down. An item already durable (or failed) is released at once.
  void add(std::uint64_t lsn, T item) {
    std::lock_guard lock(mutex_);
    TWIN_REQUIRE_OP(lsn, >=, last_added_lsn_);
    last_added_lsn_ = lsn;
    if (lsn <= state_.durable_lsn || state_.failed) {
      ready_.push({std::move(item), lsn, lsn <= state_.durable_lsn});
      return;
    }
    TWIN_REQUIRE_OP(pending_.size(), <, pending_max_);
    pending_.push_back({std::move(item), lsn, false});
  }

  // Syncer thread (wire it to options::on_commit).
  void commit(const commit_state& s) {
    std::lock_guard lock(mutex_);
    state_ = s;
    while (!pending_.empty() && pending_.front().lsn <= s.durable_lsn) {
      pending_.front().durable = true;
      ready_.push(std::move(pending_.front()));
      pending_.pop_front();
    }
    if (s.failed) {
      for (auto& p : pending_) ready_.push(std::move(p));
      pending_.clear();
    }
  }

  // I/O thread: readable when items are ready; drain() takes them all.
  int fd() const { return ready_.fd(); }
  void drain(std::vector<committed<T>>& out) { ready_.drain(out); }

  std::size_t pending() const {
    std::lock_guard lock(mutex_);
    return pending_.size();
  }

 private:
  const std::size_t pending_max_;
  mutable std::mutex mutex_;
  commit_state state_;
  std::uint64_t last_added_lsn_ = 0;
  std::deque<committed<T>> pending_;
  completion_queue<committed<T>> ready_;
};

}  // namespace cluster::wal
