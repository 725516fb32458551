#pragma once

#include <cstddef>
#include <cstdint>

// Facts of the wire protocol (schemas/*.capnp) that both ends must agree on, and the transport's
// flow-control defaults. No ZeroMQ and no Cap'n Proto here: apps/ and tests read it freely.
namespace cluster {

// Versions of the protocols spoken by this build; a frame of another version is refused by name.
inline constexpr std::uint16_t ingest_protocol_version = 1;
inline constexpr std::uint16_t query_protocol_version = 1;

// A batch holds at most this many readings; a larger one is acked `malformed`.
inline constexpr std::uint32_t batch_readings_max = 65536;

// A frame larger than this is refused with an answer (an ingest frame: a `malformed` ack naming
// its size and the limit, its readings counted when its header can be read); only its header is
// parsed. A full batch (batch_readings_max readings of 24 bytes) takes about 1.5 MiB; city-wide
// query replies are the largest frames.
inline constexpr std::size_t frame_bytes_max = 16 * 1024 * 1024;
// ZeroMQ's own limit (ZMQ_MAXMSGSIZE) for a socket whose frames we limit to `frame_max`: well
// above it, so that a frame over our limit reaches us and is answered, while ZeroMQ still drops
// the connection of a peer sending absurd messages (silently: nothing can answer it).
constexpr std::size_t socket_bytes_max(std::size_t frame_max) {
  return 2 * frame_max;
}
// Deepest nesting of our schemas is 6 (reply, city, district list, district, kinds, stats).
inline constexpr int frame_nesting_max = 16;

// Unacked batches one gateway may have: the credit every ack carries. It must cover a gateway's
// rate times the time its acks take. With `power` durability an ack also waits for the group
// commit (the fdatasync under way, then the one covering the batch: 2-5 ms at an fdatasync p50 of
// 0.5-2 ms, 10-20 ms at its p99), so two gateways sending 256-reading batches at 5-10 M
// readings/s need 100-200 batches each in flight; with 64 the commits, not the node, set the
// rate. In memory acks return within a millisecond and the window is seldom full. The node's
// total bound below still caps its memory.
inline constexpr std::uint32_t credit_default = 256;
// Unacked batches over all gateways; at this bound the node stops reading its ingest socket.
inline constexpr std::uint32_t ingest_inflight_total_max_default = 1024;

}  // namespace cluster
