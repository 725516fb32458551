#pragma once

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/alerting_service.hpp"
#include "actors/context.hpp"
#include "actors/messages.hpp"

namespace actors {

// Owns one district's live state (twin::district_state).
using district_actor = caf::typed_actor<
    caf::replies_to<apply_atom, twin::batch_key, reading_list_ptr,
                    twin::reject_counts>::with<twin::apply_result>,
    caf::replies_to<view_atom, bool>::with<twin::district_view>,
    caf::replies_to<sensor_atom, twin::sensor_id>::with<optional_sensor_view>,
    // The periodic tick re-arms itself when its flag is true.
    caf::reacts_to<tick_atom, bool>,
    // A tick on demand, answered when done.
    caf::replies_to<refresh_atom>::with<bool>>;

district_actor spawn_district(caf::actor_system& sys, node_context_ptr ctx, twin::district_id id,
                              alerting_actor alerting);

}  // namespace actors
