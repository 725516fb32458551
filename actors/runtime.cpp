#include "actors/runtime.hpp"

#include <atomic>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <mutex>

#include "actors/alerting_service.hpp"
#include "actors/district_actor.hpp"
#include "actors/ingest_router.hpp"
#include "actors/query_service.hpp"
#include "actors/sensor_cluster.hpp"
#include "observability/probes.hpp"
#include "twin/city/fingerprint.hpp"

namespace actors {

// The states a snapshot restores, checked before any actor is spawned.
struct runtime::restored {
  std::vector<std::shared_ptr<twin::district_state>> districts;  // by district id
  std::shared_ptr<twin::batch_dedup> partless;
  std::uint64_t unknown_sensor_readings = 0;
};

struct runtime::impl {
  caf::actor_system& sys;
  node_context_ptr ctx;
  alerting_actor alerting;
  std::vector<district_actor> districts;
  std::vector<sensor_cluster_actor> clusters;
  ingest_router_actor router;
  query_actor query;
  std::atomic<bool> stopped{false};
  bool joined = false;  // every actor has ended (guarded by stop_mutex)
  std::mutex stop_mutex;

  explicit impl(caf::actor_system& s) : sys(s) {}

  std::vector<caf::actor> all_actors() const {
    std::vector<caf::actor> all;
    all.push_back(caf::actor_cast<caf::actor>(router));
    all.push_back(caf::actor_cast<caf::actor>(query));
    for (auto& c : clusters) all.push_back(caf::actor_cast<caf::actor>(c));
    for (auto& d : districts) all.push_back(caf::actor_cast<caf::actor>(d));
    all.push_back(caf::actor_cast<caf::actor>(alerting));
    return all;
  }

  // The actors hold handles to each other, so none would ever end on its own and the actor
  // system would wait for them forever. Once only.
  void send_exits() {
    if (stopped.exchange(true)) return;
    for (auto& a : all_actors()) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
};

namespace {

twin::batch_ack stopping_refusal(const twin::reading_batch& batch) {
  return twin::refusal_ack(batch.key, twin::ack_status::stopping,
                           static_cast<std::uint32_t>(batch.readings.size()), "node stopping");
}

}  // namespace

runtime::runtime(caf::actor_system& sys, twin::city_ptr city, const twin::clock& clock,
                 observability::probes* probes, runtime_options options)
    : runtime(sys, std::move(city), clock, probes, std::move(options), nullptr) {}

twin::expected<std::unique_ptr<runtime>, std::string> runtime::start_from(
    caf::actor_system& sys, twin::city_ptr city, const twin::clock& clock,
    observability::probes* probes, runtime_options options, const twin::node_snapshot& snapshot) {
  TWIN_CHECK(city != nullptr);
  using failure = twin::unexpected<std::string>;
  const auto identity = twin::identity_of(*city);
  if (snapshot.city != identity)
    return failure{"the snapshot is of city '" + snapshot.city.name + "' (" +
                   twin::fingerprint_text(snapshot.city.fingerprint) + "), not '" + identity.name +
                   "' (" + twin::fingerprint_text(identity.fingerprint) + ")"};
  const auto n = city->districts.size();
  if (snapshot.districts.size() != n)
    return failure{"the snapshot holds " + std::to_string(snapshot.districts.size()) +
                   " districts where the city has " + std::to_string(n)};
  auto from = std::make_unique<restored>();
  for (std::size_t i = 0; i < n; ++i) {
    const auto& image = snapshot.districts[i];
    if (image.id.value != i)
      return failure{"the snapshot's district " + std::to_string(i) + " has id " +
                     std::to_string(image.id.value)};
    auto state = twin::district_state::restore(city, image, options.district_options);
    if (!state) return failure{state.error()};
    from->districts.push_back(std::make_shared<twin::district_state>(std::move(*state)));
  }
  const auto& d = options.district_options;
  from->partless =
      std::make_shared<twin::batch_dedup>(d.dedup_window_batches_max, d.dedup_sessions_max);
  if (snapshot.router) {
    if (auto e = from->partless->restore(snapshot.router->partless))
      return failure{"the router's batch memory: " + *e};
    from->unknown_sensor_readings = snapshot.router->unknown_sensor_readings;
  }
  return std::unique_ptr<runtime>(
      new runtime(sys, std::move(city), clock, probes, std::move(options), std::move(from)));
}

runtime::runtime(caf::actor_system& sys, twin::city_ptr city, const twin::clock& clock,
                 observability::probes* probes, runtime_options options,
                 std::unique_ptr<restored> from)
    : impl_(std::make_unique<impl>(sys)) {
  TWIN_CHECK(city != nullptr);
  TWIN_CHECK_OP(options.tick_interval_ms, >, 0);
  auto ctx = std::make_shared<node_context>();
  ctx->city = std::move(city);
  ctx->clock = &clock;
  ctx->probes = probes;
  ctx->options = options;
  ctx->validator.emplace(*ctx->city, options.ingest_limits);
  if (from != nullptr) ctx->unknown_sensor_readings = from->unknown_sensor_readings;
  auto& im = *impl_;
  im.ctx = ctx;
  im.alerting = spawn_alerting_service(sys, ctx);
  const auto n = static_cast<std::uint32_t>(ctx->city->districts.size());
  im.districts.reserve(n);
  im.clusters.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    twin::district_id id{i};
    im.districts.push_back(
        spawn_district(sys, ctx, id, im.alerting, from != nullptr ? from->districts[i] : nullptr));
    im.clusters.push_back(spawn_sensor_cluster(sys, ctx, id, im.districts.back()));
  }
  im.router =
      spawn_ingest_router(sys, ctx, im.clusters, from != nullptr ? from->partless : nullptr);
  im.query = spawn_query_service(sys, ctx, im.districts);
  if (probes != nullptr) probes->node.districts_owned(n);
}

runtime::~runtime() {
  stop();
}

void runtime::submit(twin::reading_batch_ptr batch, std::function<void(twin::batch_ack)> done) {
  TWIN_CHECK(batch != nullptr);
  if (impl_->stopped.load()) {
    done(stopping_refusal(*batch));
    return;
  }
  auto completion = std::make_shared<actors::completion<twin::batch_ack>>(std::move(done),
                                                                          stopping_refusal(*batch));
  caf::anon_send(impl_->router, submit_atom::value, std::move(batch), std::move(completion));
}

void runtime::query(twin::query_request request, std::function<void(twin::query_reply)> done) {
  twin::query_reply stopping = twin::query_error{"node stopping"};
  if (impl_->stopped.load()) {
    done(std::move(stopping));
    return;
  }
  auto completion =
      std::make_shared<actors::completion<twin::query_reply>>(std::move(done), std::move(stopping));
  caf::anon_send(impl_->query, query_atom::value, std::move(request), std::move(completion));
}

void runtime::refresh(std::function<void(bool)> done) {
  if (impl_->stopped.load()) {
    done(false);
    return;
  }
  auto completion = std::make_shared<actors::completion<bool>>(std::move(done), false);
  caf::anon_send(impl_->query, refresh_atom::value, std::move(completion));
}

void runtime::snapshot(std::uint64_t lsn, std::function<void(snapshot_result)> done) {
  if (impl_->stopped.load()) {
    done(twin::unexpected<std::string>{"node stopping"});
    return;
  }
  const auto& ctx = *impl_->ctx;
  twin::node_snapshot base;
  base.city = twin::identity_of(*ctx.city);
  base.lsn = lsn;
  base.taken_ms = ctx.clock->now_ms();
  base.districts.resize(ctx.city->districts.size());
  auto progress = std::make_shared<snapshot_progress>(std::move(base), std::move(done));
  caf::anon_send(impl_->router, snapshot_atom::value, std::move(progress));
}

void runtime::request_stop() {
  std::lock_guard<std::mutex> guard(impl_->stop_mutex);
  impl_->send_exits();
}

void runtime::stop() {
  std::lock_guard<std::mutex> guard(impl_->stop_mutex);
  auto& im = *impl_;
  im.send_exits();
  if (im.joined) return;
  {
    caf::scoped_actor self{im.sys};
    self->wait_for(im.all_actors());
  }
  im.joined = true;
  // The handles stay: submit() may race with stop() and read them. A message sent to a stopped
  // actor is dropped, and its completion then answers the caller.
}

}  // namespace actors
