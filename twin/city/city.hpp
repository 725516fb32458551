#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "twin/base/time.hpp"
#include "twin/city/fleet.hpp"
#include "twin/city/ids.hpp"

namespace twin {

// ---------------------------------------------------------------------------------------------
// Sensor kinds. The order is part of the wire protocol and of the metric labels: append only.
enum class sensor_kind : std::uint8_t {
  traffic_speed,      // km/h, on a link
  traffic_flow,       // veh/h, on a link
  traffic_occupancy,  // percent of time occupied, on a link
  pm25,               // ug/m3
  pm10,               // ug/m3
  no2,                // ug/m3
  co2,                // ppm
  noise,              // dB(A), equivalent level
  wind_speed,         // m/s
  wind_direction,     // degrees clockwise from north, the direction the wind comes from
  temperature,        // degrees C
  humidity,           // percent
  visitors,           // persons present at a site
  waste_fill,         // percent of a bin's volume
};
inline constexpr std::size_t sensor_kind_count = 14;

// The name used in files, the CLI, JSON and metric labels ("pm25", "traffic_speed", ...).
std::string_view to_string(sensor_kind k);
std::optional<sensor_kind> parse_sensor_kind(std::string_view s);
// The unit of a kind's values ("km/h", "ug/m3", ...).
std::string_view unit_of(sensor_kind k);

// Physically plausible range of a kind's values; readings outside are rejected as out_of_range.
struct value_range {
  double min;
  double max;
};
value_range plausible_range(sensor_kind k);

// Cadence: the interval at which a sensor is expected to report. Each kind has a default (5 min
// for traffic, 1 h for air quality, ...: see city.cpp), a bundle may set its own per kind
// (city.yaml `cadence`) and per sensor (sensors.csv `cadence`).
time_ms default_cadence_ms(sensor_kind k);
std::array<time_ms, sensor_kind_count> default_cadences_ms();
// A sensor is stale once its latest reading is more than this many cadences old (now - t >
// 2 x cadence): a station may miss one report, or deliver up to a whole cadence late, before it
// stops counting; a sensor that missed a report and is late with the next is stale.
inline constexpr time_ms stale_after_cadences = 2;
// Cadences are at most a day: a sensor silent for longer is not part of a live state.
inline constexpr time_ms cadence_ms_max = ms_per_day;

// ---------------------------------------------------------------------------------------------
struct lon_lat {
  double lon = 0;
  double lat = 0;
};

// A polygon: its outer ring first, then holes. Rings are closed or open, WGS84.
using ring = std::vector<lon_lat>;
struct polygon {
  std::vector<ring> rings;
};

struct district {
  district_id id;
  std::string key;            // stable text id, e.g. "fatima"
  std::string name;           // display name
  std::vector<polygon> area;  // multipolygon
  double population = 0;
  double area_km2 = 0;
};

struct road_node {
  node_id id;                // dense index
  std::uint32_t number = 0;  // as written in the bundle
  lon_lat position;
};

struct link {
  link_id id;       // dense index
  std::string key;  // stable text id as written in the bundle
  node_id from;
  node_id to;
  double length_m = 0;
  double capacity_veh_h = 0;
  double free_speed_kmh = 0;
  std::uint32_t lanes = 1;
  district_id district;
  std::string name;
};

struct zone {
  zone_id id;                // dense index
  std::uint32_t number = 0;  // as written in the bundle
  district_id district;
  node_id centroid;
};

struct od_demand {
  zone_id from;
  zone_id to;
  double trips_veh_h = 0;
};

struct sensor {
  sensor_id id;     // as written in the bundle and sent on the wire
  std::string key;  // stable text id
  sensor_kind kind = sensor_kind::pm25;
  district_id district;
  lon_lat position;
  std::optional<link_id> link;        // traffic sensors only
  std::string site;                   // visitor counters and bins: the site's name
  double capacity = 0;                // visitor counters: persons the site holds
  std::optional<time_ms> cadence_ms;  // its own reporting interval; empty: its kind's
};

struct emission_source {
  std::string key;
  std::string name;
  district_id district;
  lon_lat position;
  double stack_height_m = 0;
  double stack_diameter_m = 0;
  double exit_velocity_m_s = 0;
  double exit_temperature_k = 0;
  double nox_g_s = 0;
  double pm25_g_s = 0;
  double co2_g_s = 0;
};

// How a rule looks at a kind's readings in a district.
enum class rule_window : std::uint8_t { latest, one_minute, fifteen_minutes, one_hour };
enum class rule_aggregate : std::uint8_t { mean, max, min };
enum class severity : std::uint8_t { info, warning, critical };
std::string_view to_string(rule_window w);
std::string_view to_string(rule_aggregate a);
std::string_view to_string(severity s);

// An alert fires in a district while aggregate(kind over window) is above (or below) threshold.
struct threshold_rule {
  std::string key;
  sensor_kind kind = sensor_kind::pm25;
  rule_window window = rule_window::fifteen_minutes;
  rule_aggregate aggregate = rule_aggregate::mean;
  bool above = true;  // fires when the value is > threshold; when false, < threshold
  double threshold = 0;
  // Hysteresis: a firing alert clears only once the value is back at or below (for `above`
  // rules; at or above for `below` rules) this level, so that a value hovering around the
  // threshold does not raise and clear the alert over and over. Empty: the threshold itself.
  std::optional<double> clear_at;
  severity level = severity::warning;
  std::optional<district_id> district;  // every district when empty
  std::string message;
};

// ---------------------------------------------------------------------------------------------
// A whole city: immutable once loaded, shared between actors as shared_ptr<const city>.
class city {
 public:
  city() = default;
  // A copy rebuilds its own lookup tables (they point into the vectors of their city).
  city(const city& other);
  city& operator=(const city& other);
  // Moving keeps the vectors' buffers, so the tables stay valid.
  city(city&&) noexcept = default;
  city& operator=(city&&) noexcept = default;

  std::string name;
  std::vector<district> districts;
  std::vector<road_node> nodes;
  std::vector<link> links;
  std::vector<zone> zones;
  std::vector<od_demand> demand;
  std::vector<sensor> sensors;
  std::vector<emission_source> sources;
  std::vector<threshold_rule> rules;
  // The vehicles on the roads (the bundle's fleet file, or default_fleet_mix() without one).
  fleet_mix fleet = default_fleet_mix();
  // Expected reporting interval per sensor kind (the bundle's `cadence`, or the defaults).
  std::array<time_ms, sensor_kind_count> cadence_ms = default_cadences_ms();

  // The sensor's own cadence, or its kind's.
  time_ms cadence_of(const sensor& s) const;
  // stale_after_cadences x cadence_of(s): older latest readings are stale.
  time_ms stale_after_of(const sensor& s) const;

  // Builds the lookup tables; call once after filling the vectors.
  void index();

  std::optional<district_id> find_district(std::string_view key) const;
  // The sensor with this wire id, or nullptr. O(1).
  const sensor* find_sensor(sensor_id id) const;
  const sensor* find_sensor(std::string_view key) const;
  // Sensors of one district, in bundle order.
  const std::vector<const sensor*>& sensors_of(district_id d) const;
  // Links of one district, in bundle order.
  const std::vector<link_id>& links_of(district_id d) const;

 private:
  void copy_data(const city& other);

  bool indexed_ = false;
  std::unordered_map<std::string, district_id> district_by_key_;
  std::vector<std::int32_t> sensor_index_by_id_;  // -1 where no sensor has that id
  std::unordered_map<std::string, std::size_t> sensor_index_by_key_;
  std::vector<std::vector<const sensor*>> sensors_by_district_;
  std::vector<std::vector<link_id>> links_by_district_;
};

using city_ptr = std::shared_ptr<const city>;

// Sensor ids must be below this so that lookup stays a flat array.
inline constexpr std::uint32_t sensor_id_max = 1u << 24;

}  // namespace twin
