#include "actors/sensor_cluster.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <chrono>

#include "observability/probes.hpp"

namespace actors {

namespace {

struct sensor_cluster_state {
  static inline const char* name = "sensor_cluster";
  node_context_ptr ctx;
  twin::district_id id;
  district_actor district;
};

using cluster_pointer = sensor_cluster_actor::stateful_pointer<sensor_cluster_state>;

sensor_cluster_actor::behavior_type sensor_cluster_behavior(cluster_pointer self,
                                                            node_context_ptr ctx,
                                                            twin::district_id id,
                                                            district_actor district) {
  self->state.ctx = std::move(ctx);
  self->state.id = id;
  self->state.district = std::move(district);
  return {
      [self](ingest_atom, const twin::batch_key& key,
             const reading_list_ptr& readings) -> caf::result<twin::apply_result> {
        auto& st = self->state;
        const auto& ctx = *st.ctx;
        if (ctx.probes != nullptr)
          ctx.probes->node.observe_mailbox(observability::actor_type::sensor_cluster,
                                           self->mailbox().size());
        auto now = ctx.clock->now_ms();
        twin::reject_counts rejected;
        std::shared_ptr<reading_list> valid;  // only built when something is rejected
        for (std::size_t i = 0; i < readings->size(); ++i) {
          const auto& r = (*readings)[i];
          auto v = twin::validate_reading(*ctx.city, r, now, ctx.options.ingest_limits);
          if (!v.reason) {
            if (valid) valid->push_back(r);
            continue;
          }
          ++rejected[*v.reason];
          if (!valid) {
            valid = std::make_shared<reading_list>();
            valid->reserve(readings->size() - 1);
            valid->insert(valid->end(), readings->begin(), readings->begin() + i);
          }
        }
        reading_list_ptr forward = valid ? reading_list_ptr(std::move(valid)) : readings;
        auto rp = self->make_response_promise<twin::apply_result>();
        self->request(st.district, std::chrono::milliseconds(ctx.options.request_timeout_ms),
                      apply_atom::value, key, std::move(forward), rejected)
            .then(
                [rp, rejected](twin::apply_result& r) mutable {
                  r.rejected += rejected;
                  rp.deliver(std::move(r));
                },
                [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
        return rp;
      },
  };
}

}  // namespace

sensor_cluster_actor spawn_sensor_cluster(caf::actor_system& sys, node_context_ptr ctx,
                                          twin::district_id id, district_actor district) {
  return sys.spawn(sensor_cluster_behavior, std::move(ctx), id, std::move(district));
}

}  // namespace actors
