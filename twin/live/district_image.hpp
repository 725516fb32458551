#pragma once

// An image of a district's live state: every bit of twin::district_state that any later answer
// depends on, as plain values. district_state::image() takes one, district_state::restore() builds
// a state from one; restoring an image and applying the same readings and ticks gives the same
// answers, bit for bit, as the state it was taken of. The node writes them to snapshot files
// (cluster/snapshot_file.hpp, docs/STORAGE.md).
//
// What is not in it is derived again from the city and the district options: which sensors and
// links the district has, staleness bounds, rule definitions, the id -> slot table. So an image
// is restored into the same city (district_state::restore checks what it can) with the same
// window and deduplication sizes.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "twin/base/time.hpp"
#include "twin/city/fingerprint.hpp"
#include "twin/city/ids.hpp"
#include "twin/live/dedup.hpp"
#include "twin/live/reading.hpp"
#include "twin/live/window.hpp"

namespace twin {

// Compares doubles by their bits: NaN equals NaN of the same payload, 0.0 differs from -0.0.
bool same_bits(double a, double b);

// A sensor with any state: its latest value, the readings applied, the times remembered for
// deduplication. Sensors that never sent a reading are left out.
struct sensor_image {
  sensor_id id;
  bool has_value = false;
  double value = 0;
  time_ms time = 0;
  std::uint64_t readings = 0;
  std::vector<time_ms> times;  // reading_times::times(): ascending, distinct
  time_ms complete_from = reading_times::no_time_before;
  friend bool operator==(const sensor_image&, const sensor_image&);
};

// A link with at least one traffic reading: per metric, the newest value and its time.
struct link_image {
  link_id link;
  double speed_kmh = 0;
  double flow_veh_h = 0;
  double occupancy_pct = 0;
  time_ms speed_time = 0;
  time_ms flow_time = 0;
  time_ms occupancy_time = 0;
  friend bool operator==(const link_image&, const link_image&);
};

// The rolling windows of one sensor kind of the district.
struct kind_image {
  sensor_kind kind = sensor_kind::pm25;
  rolling_window_image fine;    // the 1 min ring, 1 s buckets
  rolling_window_image coarse;  // the 15 min and 1 h ring, 15 s buckets
  friend bool operator==(const kind_image&, const kind_image&) = default;
};

// One alert rule of the district (city::rules that apply to it, in that order).
struct rule_image {
  std::string key;  // the rule's key, to check it is the same rule
  bool firing = false;
  time_ms since = 0;
  double value = 0;  // as last evaluated
  friend bool operator==(const rule_image&, const rule_image&);
};

struct district_image {
  district_id id;
  std::string key;                    // the district's key in the city
  std::vector<sensor_image> sensors;  // by ascending id
  std::vector<link_image> links;      // by ascending id
  std::vector<kind_image> kinds;      // every kind the district has sensors of, ascending
  std::vector<rule_image> rules;
  batch_dedup_image dedup;
  // Kinds applied to since their rules were last evaluated (bit per sensor_kind), and when.
  std::uint32_t kinds_to_evaluate = 0;
  time_ms evaluated_at = 0;
  std::uint64_t alerts_version = 0;
  std::uint64_t readings_applied = 0;
  std::uint64_t late_readings_applied = 0;
  reject_counts rejected;
  friend bool operator==(const district_image&, const district_image&) = default;

  // Summaries, for `citytwin snapshot inspect`.
  std::uint32_t sensors_reporting() const;
  std::uint64_t times_remembered() const;
  std::uint32_t alerts_active() const;
};

// What the ingest router of a node remembers: the batches with no reading of a known sensor
// (their keys, so that a resend is a duplicate) and the readings of unknown sensors it refused.
struct router_image {
  batch_dedup_image partless;
  std::uint64_t unknown_sensor_readings = 0;
  friend bool operator==(const router_image&, const router_image&) = default;
};

// A consistent image of a node's live state: every district and the router after exactly the
// batches of the log up to `lsn`.
struct node_snapshot {
  city_identity city;
  std::uint64_t lsn = 0;                  // every log record with an LSN <= lsn is in it
  time_ms taken_ms = 0;                   // wall time when it was taken
  std::vector<district_image> districts;  // by district id
  std::optional<router_image> router;
  friend bool operator==(const node_snapshot&, const node_snapshot&) = default;
};

}  // namespace twin
