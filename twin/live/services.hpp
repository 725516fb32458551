#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "twin/live/reading.hpp"
#include "twin/live/views.hpp"

namespace twin {

// Where decoded batches go. Implemented by the actor runtime; called by the transport.
// `done` is called exactly once, from any thread, when every reading of the batch is applied or
// rejected (or the batch is refused as a whole).
class batch_sink {
 public:
  virtual ~batch_sink() = default;
  virtual void submit(reading_batch_ptr batch, std::function<void(batch_ack)> done) = 0;
};

struct query_city {};
struct query_district {
  std::string key;  // district key, e.g. "fatima"
};
struct query_sensor {
  std::string key;  // sensor key, or its wire id written as a number
};
// The node's place in its cluster (answered by the node itself, not the twin's actors).
struct query_cluster {};
using query_request = std::variant<query_city, query_district, query_sensor, query_cluster>;

struct query_error {
  std::string message;  // e.g. "unknown district 'atlantis'"
};

// A node's view of its cluster (README, "Running a cluster"): what `citytwin cluster status`
// shows, read from etcd or asked of a node.
struct cluster_member_view {
  std::string id;
  std::string incarnation;  // decimal; "" for a member known only from the placement
  std::string state;        // joining, up, leaving, down
  std::string zone;
  std::string ingest;
  std::string query;
  std::string metrics;
  std::uint32_t owns = 0;
  std::uint32_t replicates = 0;
  std::string city;
  std::string fingerprint;
  std::int64_t started_ms = 0;
};
struct cluster_district_roles {
  std::string district;  // key, or the index as text when the city is not known
  std::string owner;     // "" = unplaced
  std::vector<std::string> replicas;
  std::uint32_t index = 0;
};
struct cluster_status_view {
  bool alone = true;    // the node runs without a cluster; nothing below is set but `node`
  std::string node;     // the node that answered ("" when read from etcd)
  std::string cluster;  // the cluster's name
  std::string store;    // where etcd is
  bool store_reachable = true;
  std::int64_t revision = 0;  // etcd's revision when read
  std::int64_t epoch = 0;
  std::string coordinator;
  std::int64_t term = 0;
  std::uint32_t replication_factor = 0;
  std::vector<cluster_member_view> members;  // by id; down members last
  std::vector<cluster_district_roles> districts;
};
using query_reply =
    std::variant<city_view, district_view, sensor_view, query_error, cluster_status_view>;

// Answers queries about the live state. Implemented by the actor runtime; called by the transport.
// `done` is called exactly once, from any thread.
class query_handler {
 public:
  virtual ~query_handler() = default;
  virtual void query(query_request request, std::function<void(query_reply)> done) = 0;
};

}  // namespace twin

namespace twin {

// Why a frame got no ack: it was dropped before an ack could be formed. Order is part of the
// metric labels: append only.
enum class frame_drop : std::uint8_t {
  no_payload,  // a message of the routing id alone: nothing to read, no one to answer
};
inline constexpr std::size_t frame_drop_count = 1;
std::string_view to_string(frame_drop d);

// What the ingest path reports as it works: implemented by the metrics probe in observability/,
// called by the transport (cluster/ingest_server) alone. Every call must be cheap and thread-safe.
class ingest_observer {
 public:
  virtual ~ingest_observer() = default;
  // A batch finished: its status, how many readings were accepted and rejected (by reason), and
  // the time from receipt to ack.
  virtual void batch_done(ack_status status, std::uint32_t accepted, const reject_counts& rejected,
                          double latency_s) = 0;
  // A frame could not be decoded at all (garbage, truncated).
  virtual void decode_failed() = 0;
  // An ack (already reported by batch_done) could not be sent: the peer is gone or has stopped
  // reading and its queue is full. Its gateway resends or times out.
  virtual void ack_unsent() = 0;
  // A frame was dropped before any ack could be formed.
  virtual void frame_dropped(frame_drop reason) = 0;
  // Batches received but not yet acked, over all gateways.
  virtual void in_flight(std::uint32_t batches) = 0;
};

}  // namespace twin
