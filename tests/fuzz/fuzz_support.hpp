#pragma once

// What the fuzz targets share: a small city, a node's live state without actors (validation, then
// the district states, as the runtime applies a batch and answers a query), and checks of the
// codec's round trip. Plain twin and codec: no CAF, no ZeroMQ sockets.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "cluster/codec.hpp"
#include "twin/city/city.hpp"
#include "twin/feed/csv_replay.hpp"
#include "twin/live/district_state.hpp"
#include "twin/live/services.hpp"

namespace fuzz {

// A multiple of 15 s, so that every window ends exactly at `now`.
inline constexpr twin::time_ms now_ms = 1'700'000'100'000;

// Two districts with a link, a threshold rule, the sensors of the actor tests and those the replay
// mappings of tests/data/replay name (aoti-*, mndot-6005-speed). Built once.
const twin::city_ptr& small_city();

// A node's live state: one district_state per district, readings validated first.
class live_city {
 public:
  live_city();
  // Validates and applies a decoded batch as the runtime does, and returns its ack. Checks that
  // every reading is counted exactly once (accepted or rejected with a reason).
  twin::batch_ack apply(const twin::reading_batch& batch);
  // Answers a query as the runtime's query service does.
  twin::query_reply answer(const twin::query_request& request) const;

 private:
  twin::city_ptr city_;
  twin::reading_validator validator_;
  std::vector<twin::district_state> districts_;
};

// The frame as bytes, and a copy of it one byte off 8-byte alignment (the decoder must realign).
std::span<const std::byte> as_bytes(const std::uint8_t* data, std::size_t size);
std::span<const std::byte> misaligned_copy(std::span<const std::byte> frame,
                                           std::vector<std::byte>& storage);

// Both results of decoding the same bytes, one aligned and one not, must agree.
void check_same_outcome(bool ok_aligned, bool ok_misaligned, const cluster::decode_error* a,
                        const cluster::decode_error* b);

// Reading equality that treats values by their bits (NaN travels as data).
bool same_readings(std::span<const twin::reading> a, std::span<const twin::reading> b);
bool same_ack(const twin::batch_ack& a, const twin::batch_ack& b);
bool same_bytes(std::span<const std::byte> a, std::span<const std::byte> b);

// Encodes `reply`, decodes it, and checks that encoding the decoded reply gives the same bytes.
void check_reply_round_trip(std::uint64_t request_id, const twin::query_reply& reply);
// The same for an ack.
void check_ack_round_trip(const twin::batch_ack& ack);

}  // namespace fuzz

namespace fuzz {

// Query requests compared by kind and key.
bool same_request(const twin::query_request& a, const twin::query_request& b);

// Reads a replay to its end in chunks of `chunk` readings, checking what every call promises: a
// call hands out at most `chunk` readings, only of sensors the city knows (of `allowed` when not
// empty); the statistics count what was handed out; a failed replay keeps failing, a finished one
// stays finished; no more bad rows are skipped than allowed. Then sends the readings through the
// codec as the gateway does. Returns the readings.
std::vector<twin::reading> read_replay(twin::csv_replay& replay, std::size_t chunk,
                                       std::size_t bad_rows_max,
                                       std::span<const twin::sensor_id> allowed);

}  // namespace fuzz
