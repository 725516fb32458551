#include "actors/district_actor.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <chrono>
#include <optional>
#include <span>

#include "observability/probes.hpp"

namespace actors {

namespace {

struct district_actor_state {
  static inline const char* name = "district";
  node_context_ptr ctx;
  std::optional<twin::district_state> district;
  alerting_actor alerting;
  // Alerts as last reported to the alerting service, to send only what changed.
  std::vector<twin::alert> reported_alerts;
  std::uint64_t reported_alerts_version = 0;
};

using district_pointer = district_actor::stateful_pointer<district_actor_state>;

bool has_rule(const std::vector<twin::alert>& alerts, const std::string& rule) {
  for (const auto& a : alerts)
    if (a.rule == rule) return true;
  return false;
}

void report_alert_changes(district_pointer self) {
  auto& st = self->state;
  if (st.district->alerts_version() == st.reported_alerts_version) return;
  st.reported_alerts_version = st.district->alerts_version();
  const auto& active = st.district->active_alerts();
  if (active.empty() && st.reported_alerts.empty()) return;
  if (st.alerting) {
    for (const auto& a : active)
      if (!has_rule(st.reported_alerts, a.rule)) self->send(st.alerting, raised_atom::value, a);
    for (const auto& a : st.reported_alerts)
      if (!has_rule(active, a.rule)) self->send(st.alerting, cleared_atom::value, a);
  }
  st.reported_alerts = active;
}

void tick(district_pointer self) {
  auto& st = self->state;
  auto now = st.ctx->clock->now_ms();
  st.district->tick(now);
  report_alert_changes(self);
  if (auto* probes = st.ctx->probes) {
    const auto& d = *st.district;
    probes->city.update(d.id(), d.indicators(now), d.readings_applied(), d.sensors_reporting());
    probes->node.observe_mailbox(observability::actor_type::district, self->mailbox().size());
  }
}

void schedule_tick(district_pointer self) {
  self->delayed_send(self, std::chrono::milliseconds(self->state.ctx->options.tick_interval_ms),
                     tick_atom::value, true);
}

district_actor::behavior_type district_behavior(district_pointer self, node_context_ptr ctx,
                                                twin::district_id id, alerting_actor alerting,
                                                std::shared_ptr<twin::district_state> restored) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.alerting = std::move(alerting);
  if (restored != nullptr) {
    TWIN_CHECK(restored->id() == id);
    st.district.emplace(std::move(*restored));
    report_alert_changes(self);
  } else {
    st.district.emplace(st.ctx->city, id, st.ctx->options.district_options);
  }
  schedule_tick(self);
  return {
      [self](apply_atom, const district_work& work) {
        auto& st = self->state;
        if (auto* probes = st.ctx->probes)
          probes->node.observe_mailbox(observability::actor_type::district, self->mailbox().size());
        const std::span<const twin::reading> readings(work.readings);
        std::size_t next = 0;
        for (const auto& part : work.parts) {
          TWIN_CHECK_OP(next + part.count, <=, readings.size());
          st.district->count_rejected(part.rejected);
          // Each part keeps its own batch key (a resent batch is a duplicate part by part) and is
          // judged at its batch's arrival time (a replay of the log gives the same result).
          auto result = st.district->apply(part.progress->key(), readings.subspan(next, part.count),
                                           part.progress->received());
          next += part.count;
          result.rejected += part.rejected;
          part.progress->part_applied(result);
        }
        TWIN_CHECK_OP(next, ==, readings.size());
        report_alert_changes(self);
      },
      [self](view_atom, bool with_links) {
        auto& st = self->state;
        return st.district->view(st.ctx->clock->now_ms(), with_links);
      },
      [self](sensor_atom, twin::sensor_id id) -> optional_sensor_view {
        return self->state.district->sensor(id);
      },
      [self](tick_atom, bool rearm) {
        tick(self);
        if (rearm) schedule_tick(self);
      },
      [self](refresh_atom) {
        tick(self);
        return true;
      },
      [self](snapshot_atom, snapshot_progress_ptr& p) {
        const auto& d = *self->state.district;
        p->district_done(d.id(), d.image());
      },
  };
}

}  // namespace

district_actor spawn_district(caf::actor_system& sys, node_context_ptr ctx, twin::district_id id,
                              alerting_actor alerting,
                              std::shared_ptr<twin::district_state> restored) {
  return sys.spawn(district_behavior, std::move(ctx), id, std::move(alerting), std::move(restored));
}

}  // namespace actors
