#pragma once

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/context.hpp"
#include "actors/messages.hpp"
#include "actors/sensor_cluster.hpp"

namespace actors {

// Splits batches by district and sends one message per district per batch; the actor that
// applies a batch's last part acks it (batch_progress). Readings of sensors the city does not
// know are rejected here, the one place that looks them up. Flow control (credit, the in-flight
// bound) is the transport's: every batch that reaches the router is routed.
using ingest_router_actor =
    caf::typed_actor<caf::reacts_to<submit_atom, twin::reading_batch_ptr, ack_completion_ptr>,
                     caf::reacts_to<tick_atom>,
                     // A snapshot barrier: the router's image, then on to every sensor cluster.
                     caf::reacts_to<snapshot_atom, snapshot_progress_ptr>>;

// `clusters` is indexed by district id. `partless`: the batch memory to start from (a restored
// snapshot's), or nullptr for an empty one.
ingest_router_actor spawn_ingest_router(caf::actor_system& sys, node_context_ptr ctx,
                                        std::vector<sensor_cluster_actor> clusters,
                                        std::shared_ptr<twin::batch_dedup> partless = nullptr);

}  // namespace actors
