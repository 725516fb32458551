#pragma once

#include <caf/fwd.hpp>
#include <functional>
#include <memory>
#include <vector>

#include "actors/options.hpp"
#include "observability/fwd.hpp"
#include "twin/base/time.hpp"
#include "twin/city/city.hpp"
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
  // Calls stop().
  ~runtime() override;
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  void submit(twin::reading_batch_ptr batch, std::function<void(twin::batch_ack)> done) override;
  void query(twin::query_request request, std::function<void(twin::query_reply)> done) override;

  // Ticks every district now, whatever the tick interval; `done(true)` once every district has.
  void refresh(std::function<void(bool)> done);

  // Stops every actor and waits until they have: afterwards the actor system can shut down.
  // Batches and queries still pending are answered `overloaded` / with a query_error. Idempotent.
  // Never call it from inside a completion callback (it would wait for the actor running it).
  void stop();
  // The first half of stop(): every actor is sent its exit, nothing waits. For a deterministic
  // scheduler, which runs the exits when the test says; stop() afterwards only joins.
  void request_stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace actors
