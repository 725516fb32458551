#pragma once

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/context.hpp"
#include "actors/district_actor.hpp"
#include "actors/messages.hpp"

namespace actors {

// A district's ingest front: validates the readings of each part it receives and forwards the
// valid ones to its district, coalescing the parts that queued up meanwhile into one message
// (at most coalesce_readings_max readings, coalesce_parts_max parts). Nothing is answered: the
// district acks each part through its batch_progress.
// A snapshot barrier sends the parts held on to the district first, then the barrier behind them.
using sensor_cluster_actor = caf::typed_actor<caf::reacts_to<ingest_atom, batch_part>,
                                              caf::reacts_to<snapshot_atom, snapshot_progress_ptr>>;

sensor_cluster_actor spawn_sensor_cluster(caf::actor_system& sys, node_context_ptr ctx,
                                          twin::district_id id, district_actor district);

}  // namespace actors
