#include "actors/sensor_cluster.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <utility>

#include "observability/probes.hpp"

namespace actors {

namespace {

struct sensor_cluster_state {
  static inline const char* name = "sensor_cluster";
  node_context_ptr ctx;
  twin::district_id id;
  district_actor district;
  // The parts validated since the last message to the district.
  district_work pending;
  // Readings of the last message, to size the next buffer without growing it step by step.
  std::size_t last_forwarded = 0;
};

using cluster_pointer = sensor_cluster_actor::stateful_pointer<sensor_cluster_state>;

void forward(cluster_pointer self) {
  auto& st = self->state;
  if (st.pending.parts.empty()) return;
  st.last_forwarded = st.pending.readings.size();
  self->send(st.district, apply_atom::value, std::exchange(st.pending, district_work{}));
  st.pending.readings.reserve(st.last_forwarded);
}

void validate(cluster_pointer self, const batch_part& part) {
  auto& st = self->state;
  const auto& ctx = *st.ctx;
  const auto now = part.progress->received();
  const auto& validator = *ctx.validator;
  auto& out = st.pending.readings;
  const auto before = out.size();
  twin::reject_counts rejected;
  for (const auto& r : part.progress->part(part.begin, part.count)) {
    if (auto reason = validator.check(r, now)) [[unlikely]] {
      ++rejected[*reason];
      continue;
    }
    out.push_back(r);
  }
  // A part with no valid reading still goes to the district: it records the batch key (a resend
  // is then a duplicate) and counts the rejections of its sensors.
  st.pending.parts.push_back(
      district_part{part.progress, static_cast<std::uint32_t>(out.size() - before), rejected});
}

sensor_cluster_actor::behavior_type sensor_cluster_behavior(cluster_pointer self,
                                                            node_context_ptr ctx,
                                                            twin::district_id id,
                                                            district_actor district) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.id = id;
  st.district = std::move(district);
  TWIN_CHECK_OP(st.ctx->options.coalesce_readings_max, >, 0u);
  TWIN_CHECK_OP(st.ctx->options.coalesce_parts_max, >, 0u);
  return {
      [self](ingest_atom, const batch_part& part) {
        auto& st = self->state;
        const auto& ctx = *st.ctx;
        if (ctx.probes != nullptr)
          ctx.probes->node.observe_mailbox(observability::actor_type::sensor_cluster,
                                           self->mailbox().size());
        validate(self, part);
        // More parts waiting: take them first, so the district gets one message for all of them.
        if (!self->mailbox().empty()) {
          if (st.pending.readings.size() < ctx.options.coalesce_readings_max &&
              st.pending.parts.size() < ctx.options.coalesce_parts_max)
            return;
          if (ctx.probes != nullptr) ctx.probes->node.coalesce_limit_hit();
        }
        forward(self);
      },
      [self](snapshot_atom, snapshot_progress_ptr& p) {
        forward(self);
        self->send(self->state.district, snapshot_atom::value, std::move(p));
      },
  };
}

}  // namespace

sensor_cluster_actor spawn_sensor_cluster(caf::actor_system& sys, node_context_ptr ctx,
                                          twin::district_id id, district_actor district) {
  return sys.spawn(sensor_cluster_behavior, std::move(ctx), id, std::move(district));
}

}  // namespace actors
