#include "actors/ingest_router.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <chrono>
#include <string>

#include "observability/probes.hpp"

namespace actors {

namespace {

using steady = std::chrono::steady_clock;

// A batch between its arrival and its ack.
struct batch_progress {
  ack_completion_ptr done;
  twin::batch_ack ack;
  std::size_t parts_left = 0;
  bool every_part_duplicate = true;
  steady::time_point started;
};
using batch_progress_ptr = std::shared_ptr<batch_progress>;

struct router_state {
  static inline const char* name = "ingest_router";
  node_context_ptr ctx;
  std::vector<sensor_cluster_actor> clusters;  // by district id
  std::uint32_t in_flight = 0;
  // Scratch space for splitting a batch, kept to avoid allocating it per batch.
  std::vector<reading_list> parts;  // by district id
  std::vector<std::uint32_t> touched;
};

using router_pointer = ingest_router_actor::stateful_pointer<router_state>;

void report_in_flight(router_pointer self) {
  if (auto* observer = self->state.ctx->options.ingest_observer)
    observer->in_flight(self->state.in_flight);
}

void finish(router_pointer self, batch_progress& p, twin::ack_status status) {
  auto& st = self->state;
  const auto& opts = st.ctx->options;
  p.ack.status = status;
  p.ack.credit =
      opts.inflight_batches_max > st.in_flight ? opts.inflight_batches_max - st.in_flight : 0;
  if (auto* observer = opts.ingest_observer) {
    std::chrono::duration<double> latency = steady::now() - p.started;
    observer->batch_done(status, p.ack.accepted, p.ack.rejected, latency.count());
  }
  p.done->complete(std::move(p.ack));
}

// Refuses a whole batch without looking at its readings.
void refuse(router_pointer self, const twin::reading_batch& batch, ack_completion_ptr done,
            twin::ack_status status, twin::reject_reason reason, std::string message) {
  batch_progress p;
  p.done = std::move(done);
  p.started = steady::now();
  p.ack.key = batch.key;
  p.ack.rejected[reason] = static_cast<std::uint32_t>(batch.readings.size());
  p.ack.message = std::move(message);
  finish(self, p, status);
}

void part_done(router_pointer self, const batch_progress_ptr& p) {
  TWIN_CHECK_OP(p->parts_left, >, 0u);
  if (--p->parts_left > 0) return;
  auto& st = self->state;
  TWIN_CHECK_OP(st.in_flight, >, 0u);
  --st.in_flight;
  report_in_flight(self);
  finish(self, *p,
         p->every_part_duplicate ? twin::ack_status::duplicate : twin::ack_status::applied);
}

void submit(router_pointer self, const twin::reading_batch_ptr& batch, ack_completion_ptr done) {
  auto& st = self->state;
  const auto& ctx = *st.ctx;
  if (ctx.probes != nullptr)
    ctx.probes->node.observe_mailbox(observability::actor_type::ingest_router,
                                     self->mailbox().size());
  if (batch->protocol_version != twin::ingest_protocol_version) {
    refuse(self, *batch, std::move(done), twin::ack_status::wrong_version,
           twin::reject_reason::wrong_version,
           "protocol version " + std::to_string(batch->protocol_version) + ", this node speaks " +
               std::to_string(twin::ingest_protocol_version));
    return;
  }
  if (batch->readings.size() > twin::batch_readings_max) {
    refuse(self, *batch, std::move(done), twin::ack_status::malformed,
           twin::reject_reason::malformed,
           std::to_string(batch->readings.size()) + " readings, at most " +
               std::to_string(twin::batch_readings_max) + " per batch");
    return;
  }
  // Counted by ack status wherever acks are reported (the observer, or the transport).
  if (st.in_flight >= ctx.options.inflight_batches_max) {
    refuse(self, *batch, std::move(done), twin::ack_status::overloaded,
           twin::reject_reason::overloaded,
           std::to_string(st.in_flight) + " batches in flight, at most " +
               std::to_string(ctx.options.inflight_batches_max));
    return;
  }

  auto p = std::make_shared<batch_progress>();
  p->done = std::move(done);
  p->started = steady::now();
  p->ack.key = batch->key;
  for (const auto& r : batch->readings) {
    const auto* s = ctx.city->find_sensor(r.sensor);
    if (s == nullptr) {
      ++p->ack.rejected[twin::reject_reason::unknown_sensor];
      ctx.unknown_sensor_readings.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    auto d = s->district.value;
    TWIN_CHECK_OP(d, <, st.parts.size());
    if (st.parts[d].empty()) st.touched.push_back(d);
    st.parts[d].push_back(r);
  }
  if (st.touched.empty()) {
    finish(self, *p, twin::ack_status::applied);
    return;
  }
  ++st.in_flight;
  report_in_flight(self);
  p->parts_left = st.touched.size();
  auto timeout = std::chrono::milliseconds(ctx.options.request_timeout_ms);
  for (auto d : st.touched) {
    auto part = std::make_shared<const reading_list>(std::move(st.parts[d]));
    st.parts[d] = {};
    auto part_size = static_cast<std::uint32_t>(part->size());
    self->request(st.clusters[d], timeout, ingest_atom::value, batch->key, std::move(part))
        .then(
            [self, p](twin::apply_result& r) {
              p->ack.accepted += r.accepted;
              p->ack.rejected += r.rejected;
              if (!r.duplicate_batch) p->every_part_duplicate = false;
              part_done(self, p);
            },
            [self, p, part_size, d](caf::error& e) {
              // The district did not answer in time: its readings may or may not have been
              // applied, and a resend is deduplicated, so the gateway is told to resend.
              p->ack.rejected[twin::reject_reason::overloaded] += part_size;
              p->every_part_duplicate = false;
              if (!p->ack.message.empty()) p->ack.message += "; ";
              p->ack.message += "district " + self->state.ctx->city->districts[d].key +
                                " did not answer: " + self->system().render(e);
              part_done(self, p);
            });
  }
  st.touched.clear();
}

ingest_router_actor::behavior_type ingest_router_behavior(
    router_pointer self, node_context_ptr ctx, std::vector<sensor_cluster_actor> clusters) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  TWIN_CHECK_OP(clusters.size(), ==, st.ctx->city->districts.size());
  TWIN_CHECK_OP(st.ctx->options.inflight_batches_max, >, 0u);
  st.clusters = std::move(clusters);
  st.parts.resize(st.clusters.size());
  self->send(self, tick_atom::value);
  return {
      [self](submit_atom, const twin::reading_batch_ptr& batch, ack_completion_ptr& done) {
        submit(self, batch, std::move(done));
      },
      // The node's periodic bookkeeping lives here: the router runs as long as the node does.
      [self](tick_atom) {
        if (auto* probes = self->state.ctx->probes) probes->node.publish_mailboxes();
        self->delayed_send(self,
                           std::chrono::milliseconds(self->state.ctx->options.tick_interval_ms),
                           tick_atom::value);
      },
  };
}

}  // namespace

ingest_router_actor spawn_ingest_router(caf::actor_system& sys, node_context_ptr ctx,
                                        std::vector<sensor_cluster_actor> clusters) {
  return sys.spawn(ingest_router_behavior, std::move(ctx), std::move(clusters));
}

}  // namespace actors
