#pragma once

// The coordination store: the few key-value, lease and watch operations the cluster needs from
// etcd, behind one interface so the deterministic simulation can put a linearizable in-memory
// store (cluster/memory_store) where the real one (cluster/etcd_store) runs in a deployment.
//
// The semantics are etcd v3's: one global revision that every write increments; each key keeps
// its create_revision, mod_revision and version; a lease expires when it is not kept alive for its
// TTL and deletes every key attached to it; a transaction compares and then runs one of two lists
// of operations atomically; a watch delivers every change of a key range in revision order from a
// given revision on, or says that revision was compacted away.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "twin/base/expected.hpp"

namespace cluster::coord {

using revision = std::int64_t;
using lease_id = std::int64_t;

// Expected outcomes of a coordination call. None of them is a bug: the caller retries, waits, or
// (for lease_not_found) knows it is no longer a member.
enum class errc {
  unavailable,      // no endpoint answered within the timeout (connection refused, timed out)
  lease_not_found,  // the lease expired or was revoked
  compacted,        // the revision asked for is older than the store's compaction point
  rejected,         // the store refused the request (the message says why)
  bad_response,     // an answer that could not be understood
};

struct error {
  errc code;
  std::string message;
  std::string to_string() const { return message; }
};

template <class T>
using result = twin::expected<T, error>;

struct key_value {
  std::string key;
  std::string value;
  revision create_revision = 0;
  revision mod_revision = 0;
  std::int64_t version = 0;  // number of writes since creation; 0 = absent
  lease_id lease = 0;        // 0 = not attached to a lease
};

struct range_result {
  std::vector<key_value> kvs;
  revision header_revision = 0;  // the store's revision when the range was read
};

// What a transaction compares: a key's create or mod revision, its version, its value or its
// lease. An absent key has create_revision = mod_revision = version = lease = 0.
enum class compare_target { create_revision, mod_revision, version, value, lease };
enum class compare_op { equal, not_equal, greater, less };

struct compare {
  std::string key;
  compare_target target = compare_target::mod_revision;
  compare_op op = compare_op::equal;
  std::int64_t number = 0;  // for every target but value
  std::string value;        // for compare_target::value
};

struct put_op {
  std::string key;
  std::string value;
  lease_id lease = 0;
};
struct erase_op {
  std::string key;
  std::string range_end;  // empty = the key alone
};
struct range_op {
  std::string key;
  std::string range_end;  // empty = the key alone
};
using operation = std::variant<put_op, erase_op, range_op>;

struct txn_result {
  bool succeeded = false;
  revision header_revision = 0;
  // One entry per range_op of the branch that ran, in order.
  std::vector<range_result> ranges;
};

struct watch_event {
  enum class kind { put, erase };
  kind type = kind::put;
  key_value kv;  // for an erase: key and mod_revision (the deleting revision) only
};

// What a watch delivers: events in revision order (one batch per revision or group of revisions),
// or that the requested start revision was compacted (the watch has then ended: read the range
// again and watch from the revision the read returned + 1).
struct watch_batch {
  std::vector<watch_event> events;
  revision header_revision = 0;
  revision compact_revision = 0;  // > 0: compacted, no events, the watch has ended
};

// Ends the watch when destroyed; after the destructor returns the callback is not called again.
class watch_handle {
 public:
  virtual ~watch_handle() = default;
};

// The range of every key that starts with `prefix`: etcd's range_end is the prefix with its last
// byte incremented.
std::string prefix_end(std::string prefix);

class store {
 public:
  virtual ~store() = default;

  // A lease of `ttl` (whole seconds, rounded up; the store may raise it to its minimum).
  virtual result<lease_id> lease_grant(std::chrono::milliseconds ttl) = 0;
  // Keeps a lease alive: its remaining TTL, or errc::lease_not_found when it is gone (the holder
  // is no longer a member and must stop at once).
  virtual result<std::chrono::seconds> lease_keepalive(lease_id id) = 0;
  // Ends a lease now, deleting its keys; errc::lease_not_found when it was already gone.
  virtual result<std::monostate> lease_revoke(lease_id id) = 0;

  // The keys in [key, range_end) (range_end empty: the key alone), at revision `at` (0 = now).
  virtual result<range_result> range(const std::string& key, const std::string& range_end = {},
                                     revision at = 0) = 0;
  // Writes a key; the revision of the write.
  virtual result<revision> put(const std::string& key, const std::string& value,
                               lease_id lease = 0) = 0;
  // Deletes [key, range_end); the revision after the delete.
  virtual result<revision> erase(const std::string& key, const std::string& range_end = {}) = 0;
  // If every comparison holds, runs `success`, else `failure`, atomically.
  virtual result<txn_result> txn(const std::vector<compare>& compares,
                                 const std::vector<operation>& success,
                                 const std::vector<operation>& failure = {}) = 0;

  // Forgets the history before `rev` (a range or watch at an older revision is errc::compacted).
  virtual result<std::monostate> compact(revision rev) = 0;

  // Calls `on_batch` for every change of [key, range_end) from revision `from` on (0 = changes
  // after now), in order, on a thread of the store's (the in-memory store calls it inside the
  // write that caused it, after releasing its own lock). The watch reconnects by itself after a
  // lost connection, from the revision after the last one delivered.
  virtual std::unique_ptr<watch_handle> watch(const std::string& key, const std::string& range_end,
                                              revision from,
                                              std::function<void(const watch_batch&)> on_batch) = 0;

  // Where the store is, for messages ("etcd at unix:///run/etcd.sock", "in-memory store").
  virtual std::string describe() const = 0;
};

}  // namespace cluster::coord
