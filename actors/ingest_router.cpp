#include "actors/ingest_router.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <chrono>
#include <limits>
#include <string>

#include "observability/probes.hpp"

namespace actors {

namespace {

using steady = std::chrono::steady_clock;

// Marks a reading whose sensor the city does not know.
constexpr std::uint32_t no_district = std::numeric_limits<std::uint32_t>::max();

struct router_state {
  static inline const char* name = "ingest_router";
  node_context_ptr ctx;
  std::vector<sensor_cluster_actor> clusters;  // by district id
  // District by sensor id (no_district: unknown): smaller and denser than the city's records.
  std::vector<std::uint32_t> district_by_id;
  // Scratch space for grouping a batch by district, kept to avoid allocating it per batch.
  std::vector<std::uint32_t> district_of;  // by reading
  std::vector<std::uint32_t> offset;       // by district: next free position of its part
  std::vector<std::uint32_t> count;        // by district
  std::vector<std::uint32_t> touched;      // districts with readings, in first-seen order
};

using router_pointer = ingest_router_actor::stateful_pointer<router_state>;

std::uint32_t credit_left(const node_context& ctx) {
  auto in_flight = ctx.batches_in_flight.load(std::memory_order_acquire);
  return ctx.options.inflight_batches_max > in_flight ? ctx.options.inflight_batches_max - in_flight
                                                      : 0;
}

// Refuses a whole batch without looking at its readings.
void refuse(const node_context& ctx, const twin::reading_batch& batch, steady::time_point started,
            ack_completion_ptr done, twin::ack_status status, twin::reject_reason reason,
            std::string message) {
  twin::batch_ack ack;
  ack.key = batch.key;
  ack.status = status;
  ack.rejected[reason] = static_cast<std::uint32_t>(batch.readings.size());
  ack.message = std::move(message);
  ack.credit = credit_left(ctx);
  if (auto* observer = ctx.options.ingest_observer) {
    std::chrono::duration<double> latency = steady::now() - started;
    observer->batch_done(status, ack.accepted, ack.rejected, latency.count());
  }
  done->complete(std::move(ack));
}

void submit(router_pointer self, const twin::reading_batch_ptr& batch, ack_completion_ptr done) {
  auto& st = self->state;
  const auto& ctx = *st.ctx;
  const auto started = steady::now();
  if (ctx.probes != nullptr)
    ctx.probes->node.observe_mailbox(observability::actor_type::ingest_router,
                                     self->mailbox().size());
  if (batch->protocol_version != twin::ingest_protocol_version) {
    refuse(ctx, *batch, started, std::move(done), twin::ack_status::wrong_version,
           twin::reject_reason::wrong_version,
           "protocol version " + std::to_string(batch->protocol_version) + ", this node speaks " +
               std::to_string(twin::ingest_protocol_version));
    return;
  }
  const auto& readings = batch->readings;
  if (readings.size() > twin::batch_readings_max) {
    refuse(ctx, *batch, started, std::move(done), twin::ack_status::malformed,
           twin::reject_reason::malformed,
           std::to_string(readings.size()) + " readings, at most " +
               std::to_string(twin::batch_readings_max) + " per batch");
    return;
  }
  // Counted by ack status wherever acks are reported (the observer, or the transport).
  if (auto in_flight = ctx.batches_in_flight.load(std::memory_order_acquire);
      in_flight >= ctx.options.inflight_batches_max) {
    refuse(ctx, *batch, started, std::move(done), twin::ack_status::overloaded,
           twin::reject_reason::overloaded,
           std::to_string(in_flight) + " batches in flight, at most " +
               std::to_string(ctx.options.inflight_batches_max));
    return;
  }

  auto p = std::make_shared<batch_progress>(st.ctx, std::move(done), batch->key, started);
  // Group by district in two passes (count, then place) so that each part is one range.
  st.district_of.resize(readings.size());
  std::uint32_t unknown = 0;
  const auto ids = st.district_by_id.size();
  for (std::size_t i = 0; i < readings.size(); ++i) {
    const auto id = readings[i].sensor.value;
    const auto d = id < ids ? st.district_by_id[id] : no_district;
    st.district_of[i] = d;
    if (d == no_district) {
      ++unknown;
      continue;
    }
    if (st.count[d]++ == 0) st.touched.push_back(d);
  }
  if (unknown > 0) {
    p->count_rejected(twin::reject_reason::unknown_sensor, unknown);
    ctx.unknown_sensor_readings.fetch_add(unknown, std::memory_order_relaxed);
  }
  if (st.touched.empty()) {
    p->finish_now(twin::ack_status::applied);
    return;
  }
  std::uint32_t next = 0;
  for (auto d : st.touched) {
    st.offset[d] = next;
    next += st.count[d];
  }
  auto& grouped = p->readings();
  grouped.resize(next);
  for (std::size_t i = 0; i < readings.size(); ++i)
    if (auto d = st.district_of[i]; d != no_district) grouped[st.offset[d]++] = readings[i];

  p->start(static_cast<std::uint32_t>(st.touched.size()));
  if (auto* observer = ctx.options.ingest_observer)
    observer->in_flight(ctx.batches_in_flight.load(std::memory_order_relaxed));
  for (auto d : st.touched) {
    // offset[d] now points past the part.
    self->send(st.clusters[d], ingest_atom::value,
               batch_part{p, st.offset[d] - st.count[d], st.count[d]});
    st.count[d] = 0;
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
  for (const auto& s : st.ctx->city->sensors) {
    const auto* found = st.ctx->city->find_sensor(s.id);
    TWIN_CHECK(found != nullptr);
    TWIN_CHECK_OP(found->district.value, <, st.clusters.size());
    if (s.id.value >= st.district_by_id.size())
      st.district_by_id.resize(s.id.value + 1, no_district);
    st.district_by_id[s.id.value] = found->district.value;
  }
  st.offset.resize(st.clusters.size());
  st.count.assign(st.clusters.size(), 0);
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
