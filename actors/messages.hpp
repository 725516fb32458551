#pragma once

// The atoms and payloads of the messages between the actors of a node. Only the actor sources
// include this; the rest of the project talks to the runtime (runtime.hpp).

#include <atomic>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <memory>
#include <optional>
#include <vector>

#include "actors/batch_progress.hpp"
#include "actors/completion.hpp"
#include "twin/base/expected.hpp"
#include "twin/live/district_image.hpp"
#include "twin/live/district_state.hpp"
#include "twin/live/reading.hpp"
#include "twin/live/services.hpp"
#include "twin/live/views.hpp"

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
using snapshot_atom = caf::atom_constant<caf::atom("snapshot")>;

// Router -> sensor cluster: one district's part of a batch, a range of the batch's readings
// grouped by district (batch_progress::part).
struct batch_part {
  batch_progress_ptr progress;
  std::uint32_t begin = 0;
  std::uint32_t count = 0;
};

// One part as a district receives it: `count` validated readings of `district_work::readings`
// (parts follow each other there in order), and the readings validation refused.
struct district_part {
  batch_progress_ptr progress;
  std::uint32_t count = 0;
  twin::reject_counts rejected;
};

// Sensor cluster -> district: the parts the cluster coalesced since its last message. Moved, not
// copied, along the way.
struct district_work {
  std::vector<twin::reading> readings;
  std::vector<district_part> parts;
};

// A snapshot barrier (runtime::snapshot): it flows router -> every sensor cluster -> its district
// behind the batches sent before it. The router fills in its image, each district its own; the
// last district to answer completes it.
class snapshot_progress {
 public:
  using result = twin::expected<twin::node_snapshot, std::string>;
  snapshot_progress(twin::node_snapshot base, std::function<void(result)> done)
      : snapshot_(std::move(base)),
        remaining_(snapshot_.districts.size()),
        done_(std::move(done), twin::unexpected<std::string>{"node stopping"}) {}

  // The router, before it sends the barrier on.
  void set_router(twin::router_image image) { snapshot_.router = std::move(image); }
  // Each district once, from its own actor: the slots are disjoint, and the last one completes.
  void district_done(twin::district_id id, twin::district_image image) {
    snapshot_.districts[id.value] = std::move(image);
    if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1)
      done_.complete(std::move(snapshot_));
  }
  // A city without districts: the router completes it.
  void complete_now() { done_.complete(std::move(snapshot_)); }

 private:
  twin::node_snapshot snapshot_;
  std::atomic<std::size_t> remaining_;
  completion<result> done_;
};
using snapshot_progress_ptr = std::shared_ptr<snapshot_progress>;

using optional_sensor_view = std::optional<twin::sensor_view>;
using alert_list = std::vector<twin::alert>;

using reply_completion_ptr = std::shared_ptr<completion<twin::query_reply>>;
// true when every district answered.
using done_completion_ptr = std::shared_ptr<completion<bool>>;

}  // namespace actors

// These messages never leave the process (the cluster layer has its own Cap'n Proto schemas),
// so they need no serialization.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(twin::district_view)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(twin::sensor_id)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(twin::alert)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(twin::reading_batch_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(twin::query_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actors::batch_part)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actors::district_work)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actors::optional_sensor_view)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actors::alert_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actors::ack_completion_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actors::reply_completion_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actors::done_completion_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actors::snapshot_progress_ptr)
