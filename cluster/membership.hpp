#pragma once

// Membership, coordinator election and the placement table, kept in the coordination store
// (etcd in a deployment) under one prefix per cluster, `/citytwin/<cluster>/`:
//
//   members/<node id>  one member record (JSON), attached to the node's lease: when the node dies
//                      its lease ends within TTL..TTL + 0.5 s and the key goes with it
//   coordinator        {"id", "incarnation"} of the elected coordinator, attached to its lease;
//                      the key's create_revision is the coordinator's term
//   placement          the placement record (JSON); its mod_revision is the epoch
//   drain/<node id>    {"incarnation"}: an operator asks that incarnation to leave
//                      (`citytwin cluster drain`); the node deletes it as it goes
//
// The placement is written only by the coordinator, in one transaction that compares its own
// coordinator key (same create revision: still the same term) and the placement's mod revision
// (nothing written since it read it), so a deposed or paused coordinator's write fails inside the
// store. Every node learns the same table at the same epoch.
//
// member_agent runs one node's side of it as a step function on an injected clock: the node's
// runner (cluster/agent_runner) calls step() every few milliseconds and whenever the store
// reports a change; the deterministic simulation calls it on its own schedule.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cluster/coordination.hpp"
#include "cluster/placement.hpp"
#include "twin/base/expected.hpp"
#include "twin/live/services.hpp"

namespace cluster {

// What a node says about itself in its member key.
struct member_record {
  std::string id;
  std::int64_t incarnation = 0;  // the lease of this run of the node: a restart is a new one
  std::string zone;
  member_state state = member_state::joining;
  std::string peer;             // node-to-node endpoint
  std::string ingest;           // gateways' endpoint
  std::string query;            // query endpoint
  std::string metrics;          // Prometheus endpoint (host:port), "" when off
  std::string city;             // city name
  std::string fingerprint;      // of the city's sensors: every member must run the same city
  std::int64_t started_ms = 0;  // wall-clock start time of this incarnation

  friend bool operator==(const member_record&, const member_record&) = default;
};

// The published placement.
struct placement_record {
  std::string coordinator;  // who computed it
  std::int64_t term = 0;    // the coordinator's term when it wrote it
  std::size_t replication_factor = 2;
  // The members it was computed from: id and incarnation (a restarted node is a new incarnation,
  // so the placement, and with it the epoch, changes even when the table does not).
  struct member_ref {
    std::string id;
    std::int64_t incarnation = 0;
    friend bool operator==(const member_ref&, const member_ref&) = default;
  };
  std::vector<member_ref> members;
  placement table;

  friend bool operator==(const placement_record&, const placement_record&) = default;
};

std::string drain_request_json(std::int64_t incarnation);
// What the coordinator key holds: who coordinates (the term is the key's create revision).
struct coordinator_record {
  std::string id;
  std::int64_t incarnation = 0;
};

std::string to_json(const member_record& m);
std::string to_json(const coordinator_record& c);
std::string to_json(const placement_record& p);
// The error names the field that is wrong.
twin::expected<member_record, std::string> member_from_json(const std::string& text);
twin::expected<placement_record, std::string> placement_from_json(const std::string& text);
twin::expected<coordinator_record, std::string> coordinator_from_json(const std::string& text);
const char* to_string(member_state s);

enum class district_role : std::uint8_t { none, owner, replica };

// One node's view of the cluster, as of its last successful read of the store.
struct cluster_view {
  bool member = false;           // our member key is in the store under our current lease
  bool store_reachable = false;  // the last call to the store was answered
  std::string store_problem;     // why not, when not
  std::int64_t incarnation = 0;
  std::vector<member_record> members;  // sorted by id
  std::string coordinator;             // "" = none
  std::int64_t coordinator_incarnation = 0;
  std::int64_t term = 0;
  coord::revision epoch = 0;  // mod revision of the placement key; 0 = none published yet
  placement_record placement;
  coord::revision read_revision = 0;  // the store's revision when the view was read

  district_role role(std::size_t district, const std::string& node) const;
  std::size_t owned_by(const std::string& node) const;
  std::size_t replicated_by(const std::string& node) const;
  const member_record* find_member(const std::string& id) const;
  // Nodes the placement still gives a role to that hold no member key: dead (their lease ended)
  // and not yet replaced by a new placement.
  std::vector<std::string> down() const;
};

// Reads a cluster's keys as they are now (for `citytwin cluster status`): members, coordinator,
// placement; `member` stays false.
twin::expected<cluster_view, coord::error> read_cluster(coord::store& store,
                                                        const std::string& cluster_name);
// Fills `view` from a range read of the cluster's prefix.
void read_into(cluster_view& view, const coord::range_result& r, const std::string& prefix);

// The view as `citytwin cluster status` shows it: members (down ones last) with what each owns
// and replicates, and each district's roles named by `district_keys` (by index where absent).
twin::cluster_status_view to_status(const cluster_view& v, const std::string& cluster_name,
                                    const std::string& store,
                                    const std::vector<std::string>& district_keys);

struct agent_options {
  std::string cluster = "default";  // the key prefix is /citytwin/<cluster>/
  member_record self;               // id, zone, endpoints, city, fingerprint
  std::size_t district_count = 0;
  std::size_t replication_factor = 2;
  std::chrono::milliseconds lease_ttl{2000};
  std::chrono::milliseconds keepalive_every{500};
};

// A placement this node published as coordinator, and what it moved.
struct publication {
  coord::revision epoch = 0;
  std::size_t failovers = 0;   // districts whose owner had died: promoted or placed afresh
  std::size_t handoffs = 0;    // districts moved away from a live owner (join, leave, balance)
  std::size_t promotions = 0;  // ... of both, moves to a node that replicated the district
};

// Something a node operator should see in its log.
struct agent_event {
  std::string text;
};

class member_agent {
 public:
  member_agent(coord::store& store, agent_options options);
  ~member_agent();
  member_agent(const member_agent&) = delete;
  member_agent& operator=(const member_agent&) = delete;

  // One round at time `now`: join (a lease and the member key) when not a member, keep the lease
  // alive when due, read the cluster, campaign when there is no coordinator, and, as
  // coordinator, publish a new placement when the membership asks for one. A store that does not
  // answer leaves the last view in place (the data plane goes on with its epoch) and says so.
  void step(std::chrono::steady_clock::time_point now);

  // Leaving: the member record says `leaving`, the coordinator moves every district away, and
  // once the published placement gives this node nothing, the member key and the lease go.
  void begin_leave();
  bool left() const { return left_; }
  // Whether the leave was asked for through the store (`citytwin cluster drain`).
  bool drained() const { return drained_; }

  const cluster_view& view() const { return view_; }
  const agent_options& options() const { return options_; }
  std::string prefix() const;
  // What happened since the last call, for the node's log.
  std::vector<agent_event> take_events();
  std::vector<publication> take_publications();

  // Placements this agent published as coordinator, and writes the store refused (a deposed
  // coordinator or a concurrent write).
  std::uint64_t placements_written() const { return placements_written_; }
  std::uint64_t placement_conflicts() const { return placement_conflicts_; }

 private:
  bool join(std::chrono::steady_clock::time_point now);
  bool keep_alive(std::chrono::steady_clock::time_point now);
  bool read_cluster();
  void campaign();
  void coordinate();
  void update_own_state();
  void lost_membership(const std::string& why);
  void unreachable(const coord::error& e);
  void say(std::string text);

  coord::store& store_;
  agent_options options_;
  cluster_view view_;
  coord::lease_id lease_ = 0;
  std::chrono::steady_clock::time_point last_keepalive_{};
  member_state wanted_state_ = member_state::joining;
  bool leaving_ = false;
  bool left_ = false;
  bool drained_ = false;
  bool reported_unreachable_ = false;
  bool reported_waiting_for_id_ = false;
  std::uint64_t placements_written_ = 0;
  std::uint64_t placement_conflicts_ = 0;
  std::vector<agent_event> events_;
  std::vector<publication> publications_;
};

}  // namespace cluster
