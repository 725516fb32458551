#include "cluster/memory_store.hpp"

#include <algorithm>
#include <optional>
#include <utility>

namespace cluster::coord {

namespace {

bool in_range(const std::string& k, const std::string& key, const std::string& range_end) {
  if (range_end.empty()) return k == key;
  // etcd: range_end "\0" means every key >= key.
  if (range_end == std::string(1, '\0')) return k >= key;
  return k >= key && k < range_end;
}

template <class T>
bool compare_numbers(T a, compare_op op, T b) {
  switch (op) {
    case compare_op::equal:
      return a == b;
    case compare_op::not_equal:
      return a != b;
    case compare_op::greater:
      return a > b;
    case compare_op::less:
      return a < b;
  }
  return false;
}

}  // namespace

struct memory_store::watcher {
  std::string key;
  std::string range_end;
  std::function<void(const watch_batch&)> on_batch;
  std::mutex callback_mutex;  // held while the callback runs
  std::thread::id delivering_thread;
  bool active = true;
};

namespace {

class memory_watch final : public watch_handle {
 public:
  memory_watch(std::function<void(const std::shared_ptr<memory_store::watcher>&)> remove,
               std::shared_ptr<memory_store::watcher> w)
      : remove_(std::move(remove)), w_(std::move(w)) {}
  ~memory_watch() override {
    remove_(w_);
    // Wait for a callback running on another thread; from inside its own callback, just stop.
    if (w_->delivering_thread == std::this_thread::get_id()) {
      w_->active = false;
      return;
    }
    std::lock_guard lock(w_->callback_mutex);
    w_->active = false;
  }

 private:
  std::function<void(const std::shared_ptr<memory_store::watcher>&)> remove_;
  std::shared_ptr<memory_store::watcher> w_;
};

}  // namespace

memory_store::memory_store(clock_fn now) : now_(std::move(now)) {}

memory_store::~memory_store() = default;

std::chrono::steady_clock::time_point memory_store::now() const {
  return now_ ? now_() : std::chrono::steady_clock::now();
}

result<std::monostate> memory_store::check_available() const {
  if (!available_)
    return twin::unexpected(error{errc::unavailable, "in-memory store: unavailable"});
  return std::monostate{};
}

void memory_store::set_available(bool available) {
  std::lock_guard lock(mutex_);
  available_ = available;
}

revision memory_store::current_revision() const {
  std::lock_guard lock(mutex_);
  return revision_;
}

void memory_store::expire_locked() {
  auto t = now();
  std::vector<lease_id> expired;
  for (const auto& [id, lease] : leases_)
    if (t >= lease.deadline) expired.push_back(id);
  for (lease_id id : expired) {
    auto keys = std::move(leases_[id].keys);
    leases_.erase(id);
    if (keys.empty()) continue;
    // Each expiry is one revision, as etcd's lease revoke is one delete transaction.
    revision rev = revision_ + 1;
    std::vector<watch_event> one;
    for (const auto& k : keys) erase_locked(k, {}, rev, one);
    if (!one.empty()) {
      revision_ = rev;
      publish_locked(one);
    }
  }
}

void memory_store::expire_leases() {
  std::unique_lock lock(mutex_);
  expire_locked();
  std::vector<watch_event> events;
  deliver(std::move(lock));
}

result<std::monostate> memory_store::compact(revision rev) {
  std::lock_guard lock(mutex_);
  if (auto ok = check_available(); !ok) return twin::unexpected(ok.error());
  if (rev <= compacted_)
    return twin::unexpected(error{errc::compacted, "compact " + std::to_string(rev) +
                                                       ": required revision has been compacted"});
  if (rev > revision_)
    return twin::unexpected(error{errc::rejected, "compact " + std::to_string(rev) +
                                                      ": required revision is a future revision"});
  compacted_ = std::max(compacted_, std::min(rev, revision_));
  // As etcd: below the compaction point only each key's newest version survives, and only if it
  // was a put (a range at a revision >= the point still sees keys written before it).
  std::map<std::string, std::size_t> newest;
  for (std::size_t i = 0; i < history_.size() && history_[i].rev < compacted_; ++i)
    newest[history_[i].event.kv.key] = i;
  std::vector<history_entry> kept;
  for (std::size_t i = 0; i < history_.size(); ++i) {
    const auto& h = history_[i];
    if (h.rev >= compacted_ ||
        (newest[h.event.kv.key] == i && h.event.type == watch_event::kind::put))
      kept.push_back(h);
  }
  history_ = std::move(kept);
  return std::monostate{};
}

result<lease_id> memory_store::lease_grant(std::chrono::milliseconds ttl) {
  std::unique_lock lock(mutex_);
  if (auto ok = check_available(); !ok) return twin::unexpected(ok.error());
  expire_locked();
  std::vector<watch_event> events;
  lease_id id = next_lease_++;
  auto seconds = std::chrono::seconds(std::max<std::int64_t>(1, (ttl.count() + 999) / 1000));
  leases_[id] = lease_state{seconds, now() + seconds, {}};
  deliver(std::move(lock));
  return id;
}

result<std::chrono::seconds> memory_store::lease_keepalive(lease_id id) {
  std::unique_lock lock(mutex_);
  if (auto ok = check_available(); !ok) return twin::unexpected(ok.error());
  expire_locked();
  std::vector<watch_event> events;
  auto it = leases_.find(id);
  if (it == leases_.end()) {
    deliver(std::move(lock));
    return twin::unexpected(
        error{errc::lease_not_found, "lease " + std::to_string(id) + " has expired"});
  }
  it->second.deadline = now() + it->second.ttl;
  auto ttl = it->second.ttl;
  deliver(std::move(lock));
  return ttl;
}

result<std::monostate> memory_store::lease_revoke(lease_id id) {
  std::unique_lock lock(mutex_);
  if (auto ok = check_available(); !ok) return twin::unexpected(ok.error());
  expire_locked();
  std::vector<watch_event> events;
  auto it = leases_.find(id);
  if (it == leases_.end()) {
    deliver(std::move(lock));
    return twin::unexpected(error{errc::lease_not_found,
                                  "lease " + std::to_string(id) + ": requested lease not found"});
  }
  auto keys = std::move(it->second.keys);
  leases_.erase(it);
  if (!keys.empty()) {
    revision rev = revision_ + 1;
    for (const auto& k : keys) erase_locked(k, {}, rev, events);
    revision_ = rev;
    publish_locked(events);
  }
  deliver(std::move(lock));
  return std::monostate{};
}

range_result memory_store::range_locked(const std::string& key,
                                        const std::string& range_end) const {
  range_result out;
  out.header_revision = revision_;
  if (range_end.empty()) {
    if (auto it = keys_.find(key); it != keys_.end()) out.kvs.push_back(it->second);
    return out;
  }
  for (auto it = keys_.lower_bound(key); it != keys_.end(); ++it) {
    if (!in_range(it->first, key, range_end)) break;
    out.kvs.push_back(it->second);
  }
  return out;
}

result<range_result> memory_store::range(const std::string& key, const std::string& range_end,
                                         revision at) {
  std::unique_lock lock(mutex_);
  if (auto ok = check_available(); !ok) return twin::unexpected(ok.error());
  expire_locked();
  std::vector<watch_event> events;
  if (at > revision_) {
    deliver(std::move(lock));
    return twin::unexpected(
        error{errc::rejected, "range at revision " + std::to_string(at) + ": a future revision"});
  }
  if (at > 0 && at < compacted_) {
    deliver(std::move(lock));
    return twin::unexpected(error{errc::compacted, "range at revision " + std::to_string(at) +
                                                       ": required revision has been compacted"});
  }
  range_result out = range_locked(key, range_end);
  if (at > 0 && at < revision_) {
    // Roll the present back through the history: undo every event after `at`, newest first.
    std::map<std::string, std::optional<key_value>> past;
    for (auto h = history_.rbegin(); h != history_.rend() && h->rev > at; ++h) {
      const auto& k = h->event.kv.key;
      if (!in_range(k, key, range_end)) continue;
      past[k] = std::nullopt;  // before this event the key's value is the previous event's
    }
    for (auto& [k, value] : past) {
      // The newest history entry for k at or before `at`, if it was a put.
      for (auto h = history_.rbegin(); h != history_.rend(); ++h) {
        if (h->rev > at || h->event.kv.key != k) continue;
        if (h->event.type == watch_event::kind::put) value = h->event.kv;
        break;
      }
    }
    std::map<std::string, key_value> merged;
    for (auto& kv : out.kvs)
      if (!past.count(kv.key)) merged[kv.key] = kv;
    for (auto& [k, value] : past)
      if (value) merged[k] = *value;
    out.kvs.clear();
    for (auto& [k, kv] : merged) out.kvs.push_back(kv);
  }
  deliver(std::move(lock));
  return out;
}

void memory_store::put_locked(const std::string& key, const std::string& value, lease_id lease,
                              revision rev, std::vector<watch_event>& events) {
  auto& kv = keys_[key];
  if (kv.version == 0) {
    kv.key = key;
    kv.create_revision = rev;
  }
  if (kv.lease != 0 && kv.lease != lease)
    if (auto old = leases_.find(kv.lease); old != leases_.end()) old->second.keys.erase(key);
  kv.value = value;
  kv.mod_revision = rev;
  kv.version += 1;
  kv.lease = lease;
  if (lease != 0) leases_[lease].keys.insert(key);
  events.push_back(watch_event{watch_event::kind::put, kv});
}

std::size_t memory_store::erase_locked(const std::string& key, const std::string& range_end,
                                       revision rev, std::vector<watch_event>& events) {
  std::vector<std::string> doomed;
  if (range_end.empty()) {
    if (keys_.count(key)) doomed.push_back(key);
  } else {
    for (auto it = keys_.lower_bound(key); it != keys_.end() && in_range(it->first, key, range_end);
         ++it)
      doomed.push_back(it->first);
  }
  for (const auto& k : doomed) {
    auto it = keys_.find(k);
    if (it->second.lease != 0)
      if (auto lease = leases_.find(it->second.lease); lease != leases_.end())
        lease->second.keys.erase(k);
    key_value gone;
    gone.key = k;
    gone.mod_revision = rev;
    events.push_back(watch_event{watch_event::kind::erase, std::move(gone)});
    keys_.erase(it);
  }
  return doomed.size();
}

result<revision> memory_store::put(const std::string& key, const std::string& value,
                                   lease_id lease) {
  std::unique_lock lock(mutex_);
  if (auto ok = check_available(); !ok) return twin::unexpected(ok.error());
  expire_locked();
  std::vector<watch_event> events;
  if (lease != 0 && !leases_.count(lease)) {
    deliver(std::move(lock));
    return twin::unexpected(
        error{errc::lease_not_found,
              "put " + key + ": lease " + std::to_string(lease) + ": requested lease not found"});
  }
  revision rev = ++revision_;
  put_locked(key, value, lease, rev, events);
  publish_locked(events);
  deliver(std::move(lock));
  return rev;
}

result<revision> memory_store::erase(const std::string& key, const std::string& range_end) {
  std::unique_lock lock(mutex_);
  if (auto ok = check_available(); !ok) return twin::unexpected(ok.error());
  expire_locked();
  std::vector<watch_event> events;
  if (erase_locked(key, range_end, revision_ + 1, events) > 0) {
    ++revision_;
    publish_locked(events);
  }
  revision rev = revision_;
  deliver(std::move(lock));
  return rev;
}

bool memory_store::holds_locked(const compare& c) const {
  auto it = keys_.find(c.key);
  key_value absent;
  const key_value& kv = it == keys_.end() ? absent : it->second;
  switch (c.target) {
    case compare_target::create_revision:
      return compare_numbers(kv.create_revision, c.op, c.number);
    case compare_target::mod_revision:
      return compare_numbers(kv.mod_revision, c.op, c.number);
    case compare_target::version:
      return compare_numbers(kv.version, c.op, c.number);
    case compare_target::lease:
      return compare_numbers(kv.lease, c.op, c.number);
    case compare_target::value:
      // etcd: a value comparison with an absent key is false whatever the operator.
      if (it == keys_.end()) return false;
      return compare_numbers(kv.value, c.op, c.value);
  }
  return false;
}

result<txn_result> memory_store::txn(const std::vector<compare>& compares,
                                     const std::vector<operation>& success,
                                     const std::vector<operation>& failure) {
  std::unique_lock lock(mutex_);
  if (auto ok = check_available(); !ok) return twin::unexpected(ok.error());
  expire_locked();
  std::vector<watch_event> events;
  txn_result out;
  out.succeeded = std::all_of(compares.begin(), compares.end(),
                              [&](const compare& c) { return holds_locked(c); });
  const auto& ops = out.succeeded ? success : failure;
  // etcd refuses a put under a lease that does not exist, before anything is written.
  for (const auto& op : ops)
    if (const auto* p = std::get_if<put_op>(&op); p && p->lease != 0 && !leases_.count(p->lease)) {
      deliver(std::move(lock));
      return twin::unexpected(error{errc::lease_not_found, "txn put " + p->key + ": lease " +
                                                               std::to_string(p->lease) +
                                                               ": requested lease not found"});
    }
  revision rev = revision_ + 1;
  bool wrote = false;
  for (const auto& op : ops) {
    if (const auto* p = std::get_if<put_op>(&op)) {
      put_locked(p->key, p->value, p->lease, rev, events);
      wrote = true;
    } else if (const auto* e = std::get_if<erase_op>(&op)) {
      wrote = erase_locked(e->key, e->range_end, rev, events) > 0 || wrote;
    } else {
      const auto& r = std::get<range_op>(op);
      out.ranges.push_back(range_locked(r.key, r.range_end));
    }
  }
  if (wrote) {
    revision_ = rev;
    publish_locked(events);
  }
  out.header_revision = revision_;
  for (auto& r : out.ranges) r.header_revision = revision_;
  deliver(std::move(lock));
  return out;
}

void memory_store::publish_locked(std::vector<watch_event>& events) {
  if (events.empty()) return;
  for (const auto& e : events) history_.push_back(history_entry{e.kv.mod_revision, e});
  for (const auto& w : watchers_) {
    watch_batch batch;
    batch.header_revision = revision_;
    for (const auto& e : events)
      if (in_range(e.kv.key, w->key, w->range_end)) batch.events.push_back(e);
    if (!batch.events.empty()) pending_.push_back(pending_delivery{w, std::move(batch)});
  }
  events.clear();
}

void memory_store::deliver(std::unique_lock<std::mutex> lock) {
  if (delivering_) return;  // the thread delivering now will deliver ours after its own, in order
  delivering_ = true;
  while (!pending_.empty()) {
    pending_delivery next = std::move(pending_.front());
    pending_.pop_front();
    lock.unlock();
    {
      std::lock_guard callback_lock(next.to->callback_mutex);
      if (next.to->active) {
        next.to->delivering_thread = std::this_thread::get_id();
        next.to->on_batch(next.batch);
        next.to->delivering_thread = {};
      }
    }
    lock.lock();
  }
  delivering_ = false;
}

std::unique_ptr<watch_handle> memory_store::watch(
    const std::string& key, const std::string& range_end, revision from,
    std::function<void(const watch_batch&)> on_batch) {
  auto w = std::make_shared<watcher>();
  w->key = key;
  w->range_end = range_end;
  w->on_batch = std::move(on_batch);
  std::unique_lock lock(mutex_);
  if (from > 0 && from < compacted_) {
    watch_batch batch;
    batch.header_revision = revision_;
    batch.compact_revision = compacted_;
    pending_.push_back(pending_delivery{w, std::move(batch)});
  } else {
    if (from > 0 && from <= revision_) {
      // The history from `from` on, one batch per revision.
      watch_batch batch;
      for (const auto& h : history_) {
        if (h.rev < from || !in_range(h.event.kv.key, key, range_end)) continue;
        if (!batch.events.empty() && batch.events.back().kv.mod_revision != h.rev) {
          batch.header_revision = revision_;
          pending_.push_back(pending_delivery{w, std::move(batch)});
          batch = {};
        }
        batch.events.push_back(h.event);
      }
      if (!batch.events.empty()) {
        batch.header_revision = revision_;
        pending_.push_back(pending_delivery{w, std::move(batch)});
      }
    }
    watchers_.push_back(w);
  }
  auto remove = [this](const std::shared_ptr<watcher>& gone) {
    std::lock_guard l(mutex_);
    std::erase(watchers_, gone);
  };
  auto handle = std::make_unique<memory_watch>(remove, w);
  deliver(std::move(lock));
  return handle;
}

}  // namespace cluster::coord
