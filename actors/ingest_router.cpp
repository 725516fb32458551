#include "actors/ingest_router.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <chrono>
#include <limits>
#include <optional>

#include "twin/live/dedup.hpp"

#include "observability/probes.hpp"

namespace actors {

namespace {

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
  // Batches with no reading of a known sensor: no district records their key, so the router
  // does, and a resend is acked `duplicate` as a resend of any other batch is.
  std::optional<twin::batch_dedup> partless;
};

using router_pointer = ingest_router_actor::stateful_pointer<router_state>;

void submit(router_pointer self, const twin::reading_batch_ptr& batch, ack_completion_ptr done) {
  auto& st = self->state;
  const auto& ctx = *st.ctx;
  if (ctx.probes != nullptr)
    ctx.probes->node.observe_mailbox(observability::actor_type::ingest_router,
                                     self->mailbox().size());
  // Version, size and in-flight bounds are the transport's: a batch here is admitted.
  const auto& readings = batch->readings;
  TWIN_CHECK_OP(readings.size(), <=, std::numeric_limits<std::uint32_t>::max());
  const auto received = batch->received != 0 ? batch->received : ctx.clock->now_ms();
  auto p = std::make_shared<batch_progress>(std::move(done), batch->key, received,
                                            ctx.options.district_options);
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
    p->finish_now(st.partless->check_and_record(batch->key) == twin::batch_seen::applied
                      ? twin::ack_status::duplicate
                      : twin::ack_status::applied);
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
  for (auto d : st.touched) {
    // offset[d] now points past the part.
    self->send(st.clusters[d], ingest_atom::value,
               batch_part{p, st.offset[d] - st.count[d], st.count[d]});
    st.count[d] = 0;
  }
  st.touched.clear();
}

ingest_router_actor::behavior_type ingest_router_behavior(
    router_pointer self, node_context_ptr ctx, std::vector<sensor_cluster_actor> clusters,
    std::shared_ptr<twin::batch_dedup> partless) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  TWIN_CHECK_OP(clusters.size(), ==, st.ctx->city->districts.size());
  st.clusters = std::move(clusters);
  for (const auto& s : st.ctx->city->sensors) {
    const auto* found = st.ctx->city->find_sensor(s.id);
    TWIN_CHECK(found != nullptr);
    TWIN_CHECK_OP(found->district.value, <, st.clusters.size());
    if (s.id.value >= st.district_by_id.size())
      st.district_by_id.resize(s.id.value + 1, no_district);
    st.district_by_id[s.id.value] = found->district.value;
  }
  const auto& d = st.ctx->options.district_options;
  if (partless != nullptr)
    st.partless.emplace(std::move(*partless));
  else
    st.partless.emplace(d.dedup_window_batches_max, d.dedup_sessions_max);
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
      [self](snapshot_atom, snapshot_progress_ptr& p) {
        auto& st = self->state;
        // Only this actor writes the count, so the load sees every batch routed so far.
        p->set_router(twin::router_image{
            st.partless->image(), st.ctx->unknown_sensor_readings.load(std::memory_order_relaxed)});
        if (st.clusters.empty()) {
          p->complete_now();
          return;
        }
        // Behind every part already sent to each cluster: the cut is this point of the stream.
        for (const auto& c : st.clusters) self->send(c, snapshot_atom::value, p);
      },
  };
}

}  // namespace

ingest_router_actor spawn_ingest_router(caf::actor_system& sys, node_context_ptr ctx,
                                        std::vector<sensor_cluster_actor> clusters,
                                        std::shared_ptr<twin::batch_dedup> partless) {
  return sys.spawn(ingest_router_behavior, std::move(ctx), std::move(clusters),
                   std::move(partless));
}

}  // namespace actors
