#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "observability/fwd.hpp"
#include "twin/city/city.hpp"

namespace prometheus {
class Counter;
class Gauge;
}  // namespace prometheus

namespace observability {

// The kinds of actors whose mailboxes are watched; a label value each.
enum class actor_type : std::uint8_t { district, sensor_cluster, ingest_router, query };
inline constexpr std::size_t actor_type_count = 4;
std::string_view to_string(actor_type t);

// Membership states of a node as seen by this node; a label value each.
enum class member_state : std::uint8_t { joining, up, leaving, down };
inline constexpr std::size_t member_state_count = 4;
std::string_view to_string(member_state s);

inline constexpr std::size_t severity_count = 3;

// Metrics of the node itself: mailboxes, placement, membership, alerts, build. Thread-safe.
class node_probe {
 public:
  explicit node_probe(metrics_registry& registry);

  // An actor saw `depth` messages waiting in its mailbox. Depths are kept as a maximum per actor
  // type until publish_mailboxes(), so the gauge shows the deepest mailbox of each type since the
  // last tick rather than whichever actor reported last.
  void observe_mailbox(actor_type type, std::size_t depth);
  void publish_mailboxes();

  void districts_owned(std::uint32_t n);
  void districts_replicated(std::uint32_t n);
  // Whether this node is the cluster's coordinator, and whether it reaches the coordination
  // store (etcd); a node that runs alone is neither and reaches nothing it needs: 0 and 1.
  void coordinator(bool is);
  void store_reachable(bool reachable);
  // A placement this node published as coordinator: how many districts it failed over (their
  // owner had died) and handed off (moved from a live owner).
  void placement_published(std::uint32_t failovers, std::uint32_t handoffs);
  void placement_epoch(std::uint64_t epoch);
  void members(member_state state, std::uint32_t n);
  void alert_raised(twin::severity level);
  // A sensor cluster forwarded early because it held as many readings or parts as it may
  // coalesce (a bound was hit: the district is behind).
  void coalesce_limit_hit();

 private:
  std::array<std::atomic<std::size_t>, actor_type_count> mailbox_max_{};
  std::array<prometheus::Gauge*, actor_type_count> mailbox_depth_{};
  prometheus::Gauge* districts_owned_ = nullptr;
  prometheus::Gauge* districts_replicated_ = nullptr;
  prometheus::Gauge* coordinator_ = nullptr;
  prometheus::Gauge* store_reachable_ = nullptr;
  prometheus::Counter* placements_published_ = nullptr;
  prometheus::Counter* failovers_ = nullptr;
  prometheus::Counter* handoffs_ = nullptr;
  prometheus::Gauge* placement_epoch_ = nullptr;
  std::array<prometheus::Gauge*, member_state_count> members_{};
  std::array<prometheus::Counter*, severity_count> alerts_{};
  prometheus::Counter* coalesce_limit_hits_ = nullptr;
};

}  // namespace observability
