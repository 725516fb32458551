#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "twin/base/time.hpp"
#include "twin/city/fingerprint.hpp"
#include "twin/city/ids.hpp"

namespace twin {

// One measurement of one sensor.
struct reading {
  sensor_id sensor;
  time_ms time = 0;
  double value = 0;
  friend bool operator==(const reading&, const reading&) = default;
};

// Identifies a batch for deduplication: a gateway, one run of it (session), and its sequence.
struct batch_key {
  std::uint64_t gateway = 0;
  std::uint64_t session = 0;
  std::uint64_t sequence = 0;
  friend bool operator==(const batch_key&, const batch_key&) = default;
};

// A decoded batch: the transport has checked its protocol version and size.
struct reading_batch {
  batch_key key;
  std::vector<reading> readings;
  // The city the gateway sends for; a fingerprint of 0 (an older or new gateway) names none.
  city_identity city;
  // The node's clock when the batch arrived: validation (too_old, too_new) and the district's
  // alert evaluation judge its readings at this time, so that replaying a logged batch gives the
  // same result. 0: not stamped yet (the router stamps it on arrival).
  time_ms received = 0;
};
using reading_batch_ptr = std::shared_ptr<const reading_batch>;

// Why a reading was not applied. Order is part of the wire protocol and of metric labels: append
// only.
enum class reject_reason : std::uint8_t {
  unknown_sensor,  // no sensor with that id in the city
  non_finite,      // NaN or infinite value
  out_of_range,    // outside the kind's plausible range
  too_old,         // older than the node accepts (ancient timestamp)
  too_new,         // further in the future than the node accepts
  duplicate,       // already applied (same batch resent, or same sensor and time)
  out_of_order,    // older than the sensor's latest applied reading
  overloaded,      // the node had no room; the gateway should resend later
  malformed,       // the frame could not be decoded
  wrong_version,   // the frame speaks another protocol version
  too_late,        // older than the sensor's latest by more than the node's lateness bound
  stopping,        // the node is shutting down; the gateway should resend elsewhere or later
  wrong_city,      // the batch was sent for another city than the node's
  storage_unavailable,  // the node could not make the batch durable; nothing applied
};
inline constexpr std::size_t reject_reason_count = 14;
std::string_view to_string(reject_reason r);

// Counts per reason; 64-bit because running totals (since start) use it too.
struct reject_counts {
  std::array<std::uint64_t, reject_reason_count> by_reason{};

  std::uint64_t& operator[](reject_reason r) { return by_reason[static_cast<std::size_t>(r)]; }
  std::uint64_t operator[](reject_reason r) const { return by_reason[static_cast<std::size_t>(r)]; }
  std::uint64_t total() const;
  reject_counts& operator+=(const reject_counts& other);
  friend bool operator==(const reject_counts&, const reject_counts&) = default;
};

// What happened to a batch, as reported back to its gateway.
enum class ack_status : std::uint8_t {
  applied,        // every reading was either applied or rejected with a reason
  duplicate,      // the whole batch had been applied before (a resend); nothing applied twice
  overloaded,     // nothing applied; resend later
  malformed,      // frame could not be decoded; nothing applied
  wrong_version,  // protocol version mismatch; nothing applied
  stopping,       // the node is shutting down; nothing applied; resend elsewhere or later
  wrong_city,     // the batch names another city than the node's; nothing applied
  storage_unavailable,  // the node could not make the batch durable; nothing applied
};
inline constexpr std::size_t ack_status_count = 8;
std::string_view to_string(ack_status s);

struct batch_ack {
  batch_key key;
  ack_status status = ack_status::applied;
  std::uint32_t accepted = 0;
  reject_counts rejected;
  // Unacked batches the gateway may have in flight after this ack.
  std::uint32_t credit = 0;
  std::string message;  // human-readable detail for errors
  // The node's city, set by the transport on every ack: a gateway learns it from the first.
  city_identity city;
};

// The ack of a batch refused whole (any status but `applied` and `duplicate`): nothing applied,
// its `readings` counted under the reason of the same name. Credit is the transport's.
// The reason of the same name as a refusal status (a status other than applied and duplicate).
reject_reason refusal_reason(ack_status status);
batch_ack refusal_ack(const batch_key& key, ack_status status, std::uint32_t readings,
                      std::string message);

// Time bounds a node applies to incoming readings, relative to its clock.
struct ingest_limits {
  time_ms max_age_ms = 7 * ms_per_day;        // older than now - max_age: too_old
  time_ms max_future_ms = 5 * ms_per_minute;  // newer than now + max_future: too_new
};

}  // namespace twin
