#pragma once

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/alerting_service.hpp"
#include "actors/context.hpp"
#include "actors/messages.hpp"

namespace actors {

// Owns one district's live state (twin::district_state). Applies the parts its sensor cluster
// forwards and reports each part's result to the part's batch_progress (no reply message).
using district_actor =
    caf::typed_actor<caf::reacts_to<apply_atom, district_work>,
                     caf::replies_to<view_atom, bool>::with<twin::district_view>,
                     caf::replies_to<sensor_atom, twin::sensor_id>::with<optional_sensor_view>,
                     // The periodic tick re-arms itself when its flag is true.
                     caf::reacts_to<tick_atom, bool>,
                     // A tick on demand, answered when done.
                     caf::replies_to<refresh_atom>::with<bool>,
                     // A snapshot barrier: the district's image, after every part before it.
                     caf::reacts_to<snapshot_atom, snapshot_progress_ptr>>;

// `restored`: the state to start from (a snapshot's), or nullptr for a fresh one. A restored
// district reports its active alerts to the alerting service at once.
district_actor spawn_district(caf::actor_system& sys, node_context_ptr ctx, twin::district_id id,
                              alerting_actor alerting,
                              std::shared_ptr<twin::district_state> restored = nullptr);

}  // namespace actors
