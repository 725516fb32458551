#pragma once

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/context.hpp"
#include "actors/district_actor.hpp"
#include "actors/messages.hpp"

namespace actors {

// Answers queries about the live state by asking the districts.
using query_actor =
    caf::typed_actor<caf::reacts_to<query_atom, twin::query_request, reply_completion_ptr>,
                     caf::reacts_to<refresh_atom, done_completion_ptr>>;

// `districts` is indexed by district id.
query_actor spawn_query_service(caf::actor_system& sys, node_context_ptr ctx,
                                std::vector<district_actor> districts);

}  // namespace actors
