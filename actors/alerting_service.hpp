#pragma once

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/context.hpp"
#include "actors/messages.hpp"

namespace actors {

// Keeps the active alerts of the node, counts raised alerts and logs every change.
using alerting_actor = caf::typed_actor<caf::reacts_to<raised_atom, twin::alert>,
                                        caf::reacts_to<cleared_atom, twin::alert>,
                                        caf::replies_to<alerts_atom>::with<alert_list>>;

alerting_actor spawn_alerting_service(caf::actor_system& sys, node_context_ptr ctx);

}  // namespace actors
