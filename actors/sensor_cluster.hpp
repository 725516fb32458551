#pragma once

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/context.hpp"
#include "actors/district_actor.hpp"
#include "actors/messages.hpp"

namespace actors {

// A district's ingest front: validates readings and forwards the valid ones in one message.
using sensor_cluster_actor = caf::typed_actor<
    caf::replies_to<ingest_atom, twin::batch_key, reading_list_ptr>::with<twin::apply_result>>;

sensor_cluster_actor spawn_sensor_cluster(caf::actor_system& sys, node_context_ptr ctx,
                                          twin::district_id id, district_actor district);

}  // namespace actors
