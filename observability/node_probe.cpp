#include "observability/node_probe.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "observability/metrics.hpp"
#include "twin/base/check.hpp"

namespace observability {

std::string_view to_string(actor_type t) {
  switch (t) {
    case actor_type::district:
      return "district";
    case actor_type::sensor_cluster:
      return "sensor_cluster";
    case actor_type::ingest_router:
      return "ingest_router";
    case actor_type::query:
      return "query";
  }
  return "?";
}

std::string_view to_string(member_state s) {
  switch (s) {
    case member_state::joining:
      return "joining";
    case member_state::up:
      return "up";
    case member_state::leaving:
      return "leaving";
    case member_state::down:
      return "down";
  }
  return "?";
}

node_probe::node_probe(metrics_registry& registry) {
  auto& reg = registry.native();
  auto& mailbox = prometheus::BuildGauge()
                      .Name("citytwin_actor_mailbox_depth")
                      .Help("Deepest mailbox among the actors of a type since the last tick.")
                      .Register(reg);
  for (std::size_t i = 0; i < actor_type_count; ++i)
    mailbox_depth_[i] =
        &mailbox.Add({{"actor", std::string(to_string(static_cast<actor_type>(i)))}});
  districts_owned_ = &prometheus::BuildGauge()
                          .Name("citytwin_districts_owned")
                          .Help("Districts whose live state this node holds.")
                          .Register(reg)
                          .Add({});
  districts_replicated_ = &prometheus::BuildGauge()
                               .Name("citytwin_districts_replicated")
                               .Help("Districts this node keeps a replica of for their owner.")
                               .Register(reg)
                               .Add({});
  coordinator_ = &prometheus::BuildGauge()
                      .Name("citytwin_cluster_coordinator")
                      .Help("1 when this node is the cluster's elected coordinator.")
                      .Register(reg)
                      .Add({});
  store_reachable_ = &prometheus::BuildGauge()
                          .Name("citytwin_cluster_store_reachable")
                          .Help("1 when the coordination store (etcd) answered the last call.")
                          .Register(reg)
                          .Add({});
  store_reachable_->Set(1);
  placements_published_ = &prometheus::BuildCounter()
                               .Name("citytwin_cluster_placements_published_total")
                               .Help("Placements this node published as the cluster's coordinator.")
                               .Register(reg)
                               .Add({});
  failovers_ = &prometheus::BuildCounter()
                    .Name("citytwin_cluster_failovers_total")
                    .Help("Districts whose owner had died, given a new owner by a placement this "
                          "node published.")
                    .Register(reg)
                    .Add({});
  handoffs_ = &prometheus::BuildCounter()
                   .Name("citytwin_cluster_handoffs_total")
                   .Help("Districts moved away from a live owner (join, leave, balance) by a "
                         "placement this node published.")
                   .Register(reg)
                   .Add({});
  placement_epoch_ = &prometheus::BuildGauge()
                          .Name("citytwin_placement_epoch")
                          .Help("Epoch of the placement table this node follows.")
                          .Register(reg)
                          .Add({});
  auto& members = prometheus::BuildGauge()
                      .Name("citytwin_members")
                      .Help("Cluster members known to this node, by state.")
                      .Register(reg);
  for (std::size_t i = 0; i < member_state_count; ++i)
    members_[i] = &members.Add({{"state", std::string(to_string(static_cast<member_state>(i)))}});
  auto& alerts = prometheus::BuildCounter()
                     .Name("citytwin_alerts_total")
                     .Help("Alerts raised, by severity.")
                     .Register(reg);
  for (std::size_t i = 0; i < severity_count; ++i)
    alerts_[i] =
        &alerts.Add({{"severity", std::string(twin::to_string(static_cast<twin::severity>(i)))}});
  coalesce_limit_hits_ =
      &prometheus::BuildCounter()
           .Name("citytwin_coalesce_limit_hits_total")
           .Help(
               "Times a sensor cluster forwarded to its district early because it held as many "
               "readings or parts as it may coalesce.")
           .Register(reg)
           .Add({});
  prometheus::BuildGauge()
      .Name("citytwin_build_info")
      .Help("Always 1; the labels describe the build.")
      .Register(reg)
      .Add({{"version", CITYTWIN_VERSION}})
      .Set(1);
}

void node_probe::observe_mailbox(actor_type type, std::size_t depth) {
  auto i = static_cast<std::size_t>(type);
  TWIN_CHECK_OP(i, <, actor_type_count);
  auto& slot = mailbox_max_[i];
  auto seen = slot.load(std::memory_order_relaxed);
  while (depth > seen && !slot.compare_exchange_weak(seen, depth, std::memory_order_relaxed)) {
  }
}

void node_probe::publish_mailboxes() {
  for (std::size_t i = 0; i < actor_type_count; ++i)
    mailbox_depth_[i]->Set(
        static_cast<double>(mailbox_max_[i].exchange(0, std::memory_order_relaxed)));
}

void node_probe::districts_owned(std::uint32_t n) {
  districts_owned_->Set(n);
}

void node_probe::districts_replicated(std::uint32_t n) {
  districts_replicated_->Set(n);
}

void node_probe::coordinator(bool is) {
  coordinator_->Set(is ? 1 : 0);
}

void node_probe::store_reachable(bool reachable) {
  store_reachable_->Set(reachable ? 1 : 0);
}

void node_probe::placement_published(std::uint32_t failovers, std::uint32_t handoffs) {
  placements_published_->Increment();
  failovers_->Increment(failovers);
  handoffs_->Increment(handoffs);
}

void node_probe::placement_epoch(std::uint64_t epoch) {
  placement_epoch_->Set(static_cast<double>(epoch));
}

void node_probe::members(member_state state, std::uint32_t n) {
  auto i = static_cast<std::size_t>(state);
  TWIN_CHECK_OP(i, <, member_state_count);
  members_[i]->Set(n);
}

void node_probe::coalesce_limit_hit() {
  coalesce_limit_hits_->Increment();
}

void node_probe::alert_raised(twin::severity level) {
  auto i = static_cast<std::size_t>(level);
  TWIN_CHECK_OP(i, <, severity_count);
  alerts_[i]->Increment();
}

}  // namespace observability
