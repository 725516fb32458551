#pragma once

// What nodes of a cluster say to each other (README, "Running a cluster": the data plane). Plain
// C++ values: cluster/peer_codec.hpp turns them into schemas/peer.capnp frames, and the data
// plane (cluster/data_plane.hpp) speaks them through a peer_transport, a real one over ZeroMQ
// (cluster/peer_link.hpp) or a simulated network in the tests.
//
// Every message names its sender's peer endpoint (`from`): replies go there, not back on the
// connection a request came in on, so a transport only ever sends one way.

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "twin/base/time.hpp"
#include "twin/live/district_image.hpp"
#include "twin/live/reading.hpp"

namespace cluster {

inline constexpr std::uint16_t peer_protocol_version = 1;

// One district's part of a gateway batch.
//   forward:   entry node -> the district's owner in `epoch`.
//   replicate: owner -> each replica in `epoch`, the part as the owner applied it (same key,
//              readings and received time: district_state is deterministic, so the replica's
//              state stays bit-identical), at `position` in the owner's stream of the district.
struct peer_part {
  enum class kind : std::uint8_t { forward, replicate };
  kind what = kind::forward;
  std::string from;           // the sender's peer endpoint
  std::uint64_t request = 0;  // the sender's id for it, echoed by the reply
  std::uint32_t district = 0;
  std::int64_t epoch = 0;
  // replicate: the owner's stream of the district (the epoch it began in: a new owner, or an
  // owner whose state was replaced, begins a new one) and the part's place in it, 1, 2, ...
  std::int64_t stream = 0;
  std::uint64_t position = 0;
  twin::batch_key key;
  twin::time_ms received = 0;
  std::vector<twin::reading> readings;
};

// Same order as schemas/peer.capnp's PeerStatus: append only.
enum class peer_status : std::uint8_t {
  applied,        // applied (readings accepted or rejected by reason)
  duplicate,      // the part had been applied before: nothing applied twice
  moved,          // the receiver has no such role in that epoch (it knows a newer one: `epoch`)
  retry,          // the receiver does not know that epoch yet, or is busy: send again shortly
  need_snapshot,  // replica: its copy is not at position - 1 of that stream; send a snapshot
  refused,        // never applied: bad district, wrong city, stopping (see `message`)
};
inline constexpr std::size_t peer_status_count = 6;

struct peer_reply {
  std::string from;  // the replier's peer endpoint
  std::uint64_t request = 0;
  std::uint32_t district = 0;
  std::int64_t epoch = 0;  // the newest epoch the replier knows
  peer_status status = peer_status::applied;
  // A replica: the stream the reply is about, and the last position of it the replica has
  // applied (so the owner resends from there).
  std::int64_t stream = 0;
  std::uint64_t position = 0;
  std::uint32_t accepted = 0;
  twin::reject_counts rejected;
  std::string message;
};

// The district's whole state once `position` parts of `stream` were applied.
//   owner -> a replica: starts (or restarts) the replica's copy; parts position + 1, ... follow.
//   old owner -> new owner (a handoff to a node that did not replicate the district): the state
//   the new owner begins its own stream from.
// Answered by a peer_reply (applied, or moved / retry / refused).
struct peer_snapshot {
  std::string from;
  std::uint64_t request = 0;
  std::uint32_t district = 0;
  std::int64_t epoch = 0;
  std::int64_t stream = 0;
  std::uint64_t position = 0;
  twin::district_image image;
};

using peer_message = std::variant<peer_part, peer_reply, peer_snapshot>;

// Where the data plane hands messages for other nodes. Fire and forget: a message may be lost,
// duplicated or delayed (the data plane resends and deduplicates); messages from one sender to
// one receiver keep their order when they arrive. Any thread.
class peer_transport {
 public:
  virtual ~peer_transport() = default;
  virtual void send(const std::string& to, peer_message message) = 0;
};

}  // namespace cluster
