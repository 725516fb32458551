#pragma once

// The coordination store on a real etcd (3.4 or later), through its HTTP/JSON gateway: plain
// HTTP/1.1 over TCP or a unix socket, no gRPC stack. Keys and values travel base64-encoded and
// 64-bit numbers as JSON strings; this file is the only place that knows.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cluster/coordination.hpp"

namespace cluster::coord {

// One etcd client endpoint: a TCP host:port or a unix socket path.
struct etcd_endpoint {
  std::string host_port;    // "127.0.0.1:2379"; empty for a unix socket
  std::string unix_socket;  // "/run/etcd/client.sock"; empty for TCP
  std::string to_string() const;
};

// Parses the --cluster address: `etcd://HOST:PORT[,HOST:PORT...]` or `etcd+unix://PATH`.
// The error names what is wrong with the text.
twin::expected<std::vector<etcd_endpoint>, std::string> parse_etcd_url(const std::string& url);

struct etcd_options {
  std::vector<etcd_endpoint> endpoints;
  // A call that gets no answer within this time tries the next endpoint; after every endpoint,
  // the call fails as errc::unavailable.
  std::chrono::milliseconds request_timeout{1000};
  std::chrono::milliseconds connect_timeout{300};
  // How long a watch waits before it reconnects after a lost connection (doubling up to the max).
  std::chrono::milliseconds watch_retry_min{50};
  std::chrono::milliseconds watch_retry_max{1000};
};

class etcd_store final : public store {
 public:
  explicit etcd_store(etcd_options options);
  ~etcd_store() override;
  etcd_store(const etcd_store&) = delete;
  etcd_store& operator=(const etcd_store&) = delete;

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
  result<std::monostate> compact(revision rev) override;
  std::string describe() const override;

  // One member's view of the etcd cluster (the endpoint asked: `endpoint`, an index).
  struct member_status {
    std::uint64_t member_id = 0;
    std::uint64_t leader = 0;  // the leader's member id; 0 = no leader
    std::int64_t raft_term = 0;
    revision header_revision = 0;
    std::string version;
    bool is_leader() const { return leader != 0 && leader == member_id; }
  };
  result<member_status> status(std::size_t endpoint);

  // The endpoint calls go to first (the last one that answered).
  std::size_t preferred_endpoint() const { return preferred_.load(); }

  struct impl;

 private:
  etcd_options options_;
  std::atomic<std::size_t> preferred_{0};
  std::unique_ptr<impl> impl_;
};

// Base64 (RFC 4648, with padding), as etcd's gateway writes keys and values.
std::string base64_encode(const std::string& bytes);
twin::expected<std::string, std::string> base64_decode(const std::string& text);

}  // namespace cluster::coord
