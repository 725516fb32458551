#pragma once

#include <caf/fwd.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actors/options.hpp"
#include "observability/fwd.hpp"
#include "twin/base/expected.hpp"
#include "twin/base/time.hpp"
#include "twin/city/city.hpp"
#include "twin/live/district_image.hpp"
#include "twin/live/services.hpp"

namespace actors {

// The actors of one node: a district actor and a sensor cluster per district, the ingest router,
// the query service and the alerting service. The transport talks to it through the plain
// batch_sink and query_handler interfaces; every method may be called from any thread.
class runtime final : public twin::batch_sink, public twin::query_handler {
 public:
  // `clock` and `probes` (nullable) must outlive the actor system, not just the runtime; the
  // runtime must be destroyed before the actor system.
  runtime(caf::actor_system& sys, twin::city_ptr city, const twin::clock& clock,
          observability::probes* probes, runtime_options options = {});
  // A runtime whose districts and router start from a snapshot's images (a node's recovery:
  // then the log after snapshot.lsn is replayed through submit()). An error names what does not
  // fit: another city, a district missing or unknown, an image that does not restore with
  // options.district_options.
  static twin::expected<std::unique_ptr<runtime>, std::string> start_from(
      caf::actor_system& sys, twin::city_ptr city, const twin::clock& clock,
      observability::probes* probes, runtime_options options, const twin::node_snapshot& snapshot);
  // Calls stop().
  ~runtime() override;
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  void submit(twin::reading_batch_ptr batch, std::function<void(twin::batch_ack)> done) override;
  void query(twin::query_request request, std::function<void(twin::query_reply)> done) override;

  // Ticks every district now, whatever the tick interval; `done(true)` once every district has.
  void refresh(std::function<void(bool)> done);

  using snapshot_result = twin::expected<twin::node_snapshot, std::string>;
  // A consistent snapshot of the live state: a barrier that follows the batches down their path
  // (router, each sensor cluster, each district). The router adds its image, each cluster sends
  // the parts it holds on to its district before the barrier, each district adds its image, and
  // `done` runs (on an actor's thread) once every district has: with `lsn`, the city's identity
  // and the clock's time at this call. CAF keeps the messages between two actors in order, so
  // the snapshot holds exactly the batches submit() was called with before this call, when both
  // are called from one thread (with several threads: those whose submit() returned before this
  // call began) — none after, in whole: no part of a batch is half applied. The caller passes
  // the LSN of the last batch it submitted. Answered with an error when the runtime stops first.
  void snapshot(std::uint64_t lsn, std::function<void(snapshot_result)> done);

  // Stops every actor and waits until they have: afterwards the actor system can shut down.
  // Batches and queries still pending are answered `overloaded` / with a query_error. Idempotent.
  // Never call it from inside a completion callback (it would wait for the actor running it).
  void stop();
  // The first half of stop(): every actor is sent its exit, nothing waits. For a deterministic
  // scheduler, which runs the exits when the test says; stop() afterwards only joins.
  void request_stop();

 private:
  struct restored;
  runtime(caf::actor_system& sys, twin::city_ptr city, const twin::clock& clock,
          observability::probes* probes, runtime_options options, std::unique_ptr<restored> from);

  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace actors
