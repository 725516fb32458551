#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>

#include "cluster/batch_log.hpp"
#include "cluster/membership.hpp"
#include "cluster/protocol.hpp"
#include "twin/base/expected.hpp"
#include "twin/base/time.hpp"
#include "twin/city/city.hpp"
#include "twin/live/district_state.hpp"
#include "twin/live/reading.hpp"
#include "twin/live/services.hpp"

namespace node {

// Joining a cluster (README, "Running a cluster"): membership, the coordinator and the placement
// of districts live in etcd under /citytwin/<name>/.
struct cluster_settings {
  std::string url;  // etcd://HOST:PORT[,HOST:PORT...] or etcd+unix://PATH
  std::string name = "default";
  std::string node_id;  // "" = <hostname>-<ingest port>
  std::string zone;
  // The host other nodes and clients reach this node's sockets at, written in its member record.
  // "" = the bound host, or this machine's host name when bound to 0.0.0.0 / *.
  std::string advertise_host;
  std::size_t replication_factor = 2;
  std::chrono::milliseconds lease_ttl{2000};
  // How long a start waits to be a member before it goes on and keeps trying in the background.
  std::chrono::milliseconds join_wait{3000};
  // How long a graceful stop waits for the cluster to take this node's districts.
  std::chrono::milliseconds leave_wait{10000};
};

struct node_config {
  std::string ingest = "tcp://127.0.0.1:7100";
  std::string query = "tcp://127.0.0.1:7101";
  std::string metrics = "127.0.0.1:9464";  // HOST:PORT; port 0 picks a free one
  unsigned threads = 2;                    // CAF scheduler threads
  twin::ingest_limits limits;
  twin::district_options district;
  twin::time_ms tick_interval_ms = 1000;
  // Unacked batches per gateway (its credit) and over all gateways: the transport's bounds.
  std::uint32_t inflight_per_gateway_max = cluster::credit_default;
  std::uint32_t inflight_total_max = cluster::ingest_inflight_total_max_default;
  // The graceful stop: at most this long for the batches in flight to finish, then the node
  // keeps answering `stopping` for stop_refuse_ms more, so that a gateway sending meanwhile
  // hears why instead of waiting for a timeout.
  std::chrono::milliseconds stop_drain_max{10000};
  std::chrono::milliseconds stop_refuse{500};
  // CURVE on the ingest and query sockets: the node's secret key file and the allowed client
  // keys (a file of keys or a folder of *.pub files). Both or neither; neither is plain TCP.
  std::string curve_secret_file;
  std::string curve_allow;
  // The data directory (docs/STORAGE.md): empty, the node keeps nothing. With one, every admitted
  // batch is logged before it is applied and acked at the `durability` point, and a start
  // recovers the state from the log.
  std::filesystem::path data_dir;
  cluster::durability durability = cluster::durability::process;
  std::uint64_t log_segment_bytes = 64u << 20;
  // A snapshot after every this many bytes of log (and one at a graceful stop): bounds the replay
  // after a crash. 0: only at a graceful stop.
  std::uint64_t snapshot_every_bytes = 256u << 20;
  // false: recover the state (snapshot and log of data_dir) without opening the ingest, query
  // and metrics sockets, for tools that read a data directory (`citytwin snapshot save`); the
  // endpoint accessors must not be called then.
  bool serve = true;
  // Without one the node runs the whole city alone.
  std::optional<cluster_settings> cluster;
};

// What the replay of the log did at start.
struct replay_report {
  std::array<std::uint64_t, twin::ack_status_count> acks{};  // by status
  std::uint64_t readings_accepted = 0;
  double seconds = 0;  // recovery as a whole: scanning, decoding and applying
};

// What a graceful stop did, over the node's whole run (from the transport's acks).
struct stop_report {
  std::uint64_t batches_applied = 0;     // acked `applied`
  std::uint64_t readings_accepted = 0;   // accepted over every ack
  std::uint64_t in_flight_finished = 0;  // in flight when the stop began, finished and acked
  std::uint64_t batches_stopping = 0;    // refused `stopping`
  std::uint64_t readings_stopping = 0;
  bool drained = true;  // false: batches were still in flight after stop_drain_max
  // What was kept: the snapshot written (file, LSN, bytes, log segments released), or why not.
  std::string kept;
  bool kept_ok = true;  // false with a data directory whose snapshot could not be written
};

// One node: the actor runtime over a city, its ingest and query sockets and its /metrics
// endpoint, wired together. Destroying it shuts everything down in order.
class node_host {
 public:
  static twin::expected<std::unique_ptr<node_host>, std::string> start(twin::city_ptr city,
                                                                       const node_config& config,
                                                                       const twin::clock& clock,
                                                                       std::ostream* alert_log);
  ~node_host();

  const std::string& ingest_endpoint() const;
  const std::string& query_endpoint() const;
  // "127.0.0.1:9464"
  std::string metrics_address() const;
  twin::query_handler& queries();
  std::string scrape_text() const;
  // One line on the sockets' security: CURVE with the node's public key and the number of
  // client keys allowed, or plain TCP and what that means.
  std::string security_summary() const;
  // What the node keeps and what it recovered at start, for its start-up lines.
  std::string storage_summary() const;
  // The node's place in its cluster: "none (...)" alone, else the cluster, the node id, the
  // coordinator, the epoch and the districts it owns and replicates.
  std::string cluster_summary() const;
  // The node was drained (`citytwin cluster drain`) and has left its cluster: it should stop.
  bool drained() const;
  // The node's view of its cluster; nullopt when it runs alone.
  std::optional<cluster::cluster_view> cluster_state() const;
  // The log's counters (appends, bytes, fdatasync percentiles); nullopt without a data directory.
  std::optional<cluster::wal::writer_stats> log_stats() const;
  // What the replay of the log did at start (zeros without a data directory).
  const replay_report& replayed() const;
  // A node that does not serve (config.serve false) with a data directory: writes a snapshot of
  // its whole state (everything its log holds) to `path`, leaving the data directory as it was.
  // Returns what it wrote ("snapshot FILE (LSN n, b bytes) in s s") or why not.
  twin::expected<std::string, std::string> export_snapshot(const std::filesystem::path& path);
  // Re-reads the allow-list (SIGHUP): the new keys apply to the next handshakes. Returns the
  // number of keys allowed; on an error (naming file and line) the old list stays.
  twin::expected<std::size_t, std::string> reload_allow_list();

  // The graceful stop (SIGTERM): from the call on, every batch is refused `stopping`; the batches
  // in flight are finished and acked; then the hook for durable state runs; then the node goes on
  // refusing for config.stop_refuse and closes its sockets. Call once; destroy the host after.
  stop_report stop_gracefully();
  // Writes {"ingest": ..., "query": ..., "metrics": ..., "pid": ...} atomically to `path`.
  twin::expected<std::monostate, std::string> write_ready_file(
      const std::filesystem::path& path) const;

 private:
  struct impl;
  explicit node_host(std::unique_ptr<impl> impl);
  std::unique_ptr<impl> impl_;
};

}  // namespace node
