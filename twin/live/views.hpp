#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "twin/city/city.hpp"
#include "twin/live/reading.hpp"

namespace twin {

inline constexpr double no_value = std::numeric_limits<double>::quiet_NaN();

// Aggregate of one kind in one district over a trailing window of width W at `now`: every reading
// with floor(now - W) < t <= ceil(now) (floor and ceil to the window's buckets: 1 s for 1 min,
// 15 s for 15 min and 1 h; see twin/live/window.hpp), and for each sensor with no reading in the
// window whose latest reading is still fresh (now - t <= its stale bound), that latest value,
// once. `count` counts both. Wind directions are averaged as unit vectors (mean in [0, 360), min
// and max NaN).
struct window_stats {
  std::uint64_t count = 0;
  double mean = no_value;
  double min = no_value;
  double max = no_value;
};

struct kind_stats {
  sensor_kind kind = sensor_kind::pm25;
  std::uint32_t sensors = 0;  // sensors of this kind in the district
  window_stats last_1m;
  window_stats last_15m;
  window_stats last_1h;
};

// Derived indicators of a district. NaN where there is no data to derive from.
struct district_indicators {
  // Extra travel time over free flow on the district's sensed links, length-weighted:
  // 0 = free flow, 1 = twice the free-flow travel time.
  double congestion_index = no_value;
  double mean_speed_kmh = no_value;  // harmonic, length-weighted over sensed links
  double pm25_ug_m3 = no_value;      // the 1 h window's mean (held values included)
  double no2_ug_m3 = no_value;       // the 1 h window's mean (held values included)
  double co2_ppm = no_value;         // the 15 min window's mean (held values included)
  double noise_db = no_value;        // energetic mean of the latest levels
  double crowding = no_value;        // persons present / capacity, over visitor sites
  double visitors = no_value;        // persons present, sum of the latest counts
  double waste_fill_pct = no_value;  // mean latest fill of bins
  std::uint32_t bins_full = 0;       // bins at or above 80 %
  std::uint32_t stale_sensors = 0;   // no reading within the staleness bound (or never)
  std::uint32_t active_alerts = 0;
};

struct link_state {
  link_id link;
  std::string key;
  double speed_kmh = no_value;
  double flow_veh_h = no_value;
  double occupancy_pct = no_value;
  time_ms time = 0;  // of the newest of the three
};

struct alert {
  std::string rule;
  district_id district;
  sensor_kind kind = sensor_kind::pm25;
  severity level = severity::warning;
  double value = no_value;
  double threshold = no_value;
  time_ms since = 0;
  std::string message;
};

struct district_view {
  district_id id;
  std::string key;
  std::string name;
  time_ms as_of = 0;
  double population = 0;
  double area_km2 = 0;
  std::uint64_t readings_applied = 0;  // since start
  reject_counts rejected;              // since start
  std::uint32_t sensors = 0;
  std::uint32_t sensors_reporting = 0;  // sensors with at least one reading
  district_indicators indicators;
  std::vector<kind_stats> kinds;  // only kinds the district has sensors of
  std::vector<link_state> links;  // links with a traffic reading
  std::vector<alert> alerts;      // active alerts
};

struct sensor_view {
  sensor_id id;
  std::string key;
  sensor_kind kind = sensor_kind::pm25;
  district_id district;
  std::string district_key;
  bool has_value = false;
  double value = no_value;
  time_ms time = 0;
  std::uint64_t readings = 0;  // applied since start
};

struct city_view {
  std::string name;
  time_ms as_of = 0;
  std::uint64_t readings_applied = 0;
  reject_counts rejected;
  std::vector<district_view> districts;  // links omitted in the city view
};

}  // namespace twin
