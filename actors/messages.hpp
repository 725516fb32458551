#pragma once

// The atoms and payloads of the messages between the actors of a node. Only the actor sources
// include this; the rest of the project talks to the runtime (runtime.hpp).

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <memory>
#include <optional>
#include <vector>

#include "actors/completion.hpp"
#include "twin/district_state.hpp"
#include "twin/reading.hpp"
#include "twin/services.hpp"
#include "twin/views.hpp"

namespace actors {

using apply_atom = caf::atom_constant<caf::atom("apply")>;
using ingest_atom = caf::atom_constant<caf::atom("ingest")>;
using view_atom = caf::atom_constant<caf::atom("view")>;
using sensor_atom = caf::atom_constant<caf::atom("sensor")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using refresh_atom = caf::atom_constant<caf::atom("refresh")>;
using submit_atom = caf::atom_constant<caf::atom("submit")>;
using query_atom = caf::atom_constant<caf::atom("query")>;
using raised_atom = caf::atom_constant<caf::atom("raised")>;
using cleared_atom = caf::atom_constant<caf::atom("cleared")>;
using alerts_atom = caf::atom_constant<caf::atom("alerts")>;

// One district's part of a batch. Shared, never copied: it is immutable once sent.
using reading_list = std::vector<twin::reading>;
using reading_list_ptr = std::shared_ptr<const reading_list>;
using optional_sensor_view = std::optional<twin::sensor_view>;
using alert_list = std::vector<twin::alert>;

using ack_completion_ptr = std::shared_ptr<completion<twin::batch_ack>>;
using reply_completion_ptr = std::shared_ptr<completion<twin::query_reply>>;
// true when every district answered.
using done_completion_ptr = std::shared_ptr<completion<bool>>;

}  // namespace actors

// These messages never leave the process (the cluster layer has its own Cap'n Proto schemas),
// so they need no serialization.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(twin::batch_key)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(twin::apply_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(twin::reject_counts)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(twin::district_view)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(twin::sensor_id)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(twin::alert)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(twin::reading_batch_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(twin::query_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actors::reading_list_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actors::optional_sensor_view)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actors::alert_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actors::ack_completion_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actors::reply_completion_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actors::done_completion_ptr)
