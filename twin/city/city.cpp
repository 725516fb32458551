#include "twin/city/city.hpp"

#include <array>

#include "twin/base/check.hpp"

namespace twin {

namespace {

struct kind_info {
  std::string_view name;
  std::string_view unit;
  value_range range;
  time_ms cadence_ms;
};

constexpr time_ms minutes = ms_per_minute;

// Plausible ranges are generous physical bounds, not alert thresholds. Cadences are what real
// networks publish: loop detectors and road feeds 5-minute aggregates (the MnDOT feed of the
// tests), air-quality stations hourly means (the Beijing stations, EEA and AirNow feeds), CO2,
// visitor and noise monitors their own short intervals, weather stations 10-minute means (WMO),
// bin fill sensors a few times a day at most.
constexpr std::array<kind_info, sensor_kind_count> kind_table{{
    {"traffic_speed", "km/h", {0, 250}, 5 * minutes},
    {"traffic_flow", "veh/h", {0, 20000}, 5 * minutes},
    {"traffic_occupancy", "%", {0, 100}, 5 * minutes},
    {"pm25", "ug/m3", {0, 2000}, 60 * minutes},
    {"pm10", "ug/m3", {0, 3000}, 60 * minutes},
    {"no2", "ug/m3", {0, 2000}, 60 * minutes},
    {"co2", "ppm", {250, 10000}, 5 * minutes},
    {"noise", "dB(A)", {0, 160}, 1 * minutes},
    {"wind_speed", "m/s", {0, 100}, 10 * minutes},
    {"wind_direction", "deg", {0, 360}, 10 * minutes},
    {"temperature", "C", {-60, 60}, 10 * minutes},
    {"humidity", "%", {0, 100}, 10 * minutes},
    {"visitors", "persons", {0, 1e6}, 5 * minutes},
    {"waste_fill", "%", {0, 100}, 60 * minutes},
}};

const kind_info& info(sensor_kind k) {
  auto i = static_cast<std::size_t>(k);
  TWIN_REQUIRE_OP(i, <, sensor_kind_count);
  return kind_table[i];
}

}  // namespace

std::string_view to_string(sensor_kind k) {
  return info(k).name;
}
std::string_view unit_of(sensor_kind k) {
  return info(k).unit;
}
value_range plausible_range(sensor_kind k) {
  return info(k).range;
}

time_ms default_cadence_ms(sensor_kind k) {
  return info(k).cadence_ms;
}

std::array<time_ms, sensor_kind_count> default_cadences_ms() {
  std::array<time_ms, sensor_kind_count> out{};
  for (std::size_t i = 0; i < sensor_kind_count; ++i) out[i] = kind_table[i].cadence_ms;
  return out;
}

time_ms city::cadence_of(const sensor& s) const {
  if (s.cadence_ms) return *s.cadence_ms;
  auto i = static_cast<std::size_t>(s.kind);
  TWIN_REQUIRE_OP(i, <, sensor_kind_count);
  return cadence_ms[i];
}

time_ms city::stale_after_of(const sensor& s) const {
  return stale_after_cadences * cadence_of(s);
}

std::optional<sensor_kind> parse_sensor_kind(std::string_view s) {
  for (std::size_t i = 0; i < sensor_kind_count; ++i)
    if (kind_table[i].name == s) return static_cast<sensor_kind>(i);
  return std::nullopt;
}

std::string_view to_string(rule_window w) {
  switch (w) {
    case rule_window::latest:
      return "latest";
    case rule_window::one_minute:
      return "1m";
    case rule_window::fifteen_minutes:
      return "15m";
    case rule_window::one_hour:
      return "1h";
  }
  return "?";
}

std::string_view to_string(rule_aggregate a) {
  switch (a) {
    case rule_aggregate::mean:
      return "mean";
    case rule_aggregate::max:
      return "max";
    case rule_aggregate::min:
      return "min";
  }
  return "?";
}

std::string_view to_string(severity s) {
  switch (s) {
    case severity::info:
      return "info";
    case severity::warning:
      return "warning";
    case severity::critical:
      return "critical";
  }
  return "?";
}

city::city(const city& other) {
  *this = other;
}

city& city::operator=(const city& other) {
  if (this == &other) return *this;
  copy_data(other);
  indexed_ = false;
  if (other.indexed_) index();
  return *this;
}

void city::copy_data(const city& other) {
  name = other.name;
  districts = other.districts;
  nodes = other.nodes;
  links = other.links;
  zones = other.zones;
  demand = other.demand;
  sensors = other.sensors;
  sources = other.sources;
  rules = other.rules;
  fleet = other.fleet;
  cadence_ms = other.cadence_ms;
}

void city::index() {
  indexed_ = true;
  district_by_key_.clear();
  for (const auto& d : districts) district_by_key_.emplace(d.key, d.id);

  sensor_index_by_id_.clear();
  sensor_index_by_key_.clear();
  std::uint32_t max_id = 0;
  for (const auto& s : sensors) {
    TWIN_REQUIRE_OP(s.id.value, <, sensor_id_max);
    max_id = std::max(max_id, s.id.value);
  }
  sensor_index_by_id_.assign(sensors.empty() ? 0 : max_id + 1, -1);
  for (std::size_t i = 0; i < sensors.size(); ++i) {
    sensor_index_by_id_[sensors[i].id.value] = static_cast<std::int32_t>(i);
    sensor_index_by_key_.emplace(sensors[i].key, i);
  }

  sensors_by_district_.assign(districts.size(), {});
  for (const auto& s : sensors) {
    TWIN_REQUIRE_OP(s.district.value, <, districts.size());
    sensors_by_district_[s.district.value].push_back(&s);
  }
  links_by_district_.assign(districts.size(), {});
  for (const auto& l : links)
    if (l.district.valid() && l.district.value < districts.size())
      links_by_district_[l.district.value].push_back(l.id);
}

std::optional<district_id> city::find_district(std::string_view key) const {
  auto it = district_by_key_.find(std::string(key));
  if (it == district_by_key_.end()) return std::nullopt;
  return it->second;
}

const sensor* city::find_sensor(sensor_id id) const {
  if (id.value >= sensor_index_by_id_.size()) return nullptr;
  auto i = sensor_index_by_id_[id.value];
  return i < 0 ? nullptr : &sensors[static_cast<std::size_t>(i)];
}

const sensor* city::find_sensor(std::string_view key) const {
  auto it = sensor_index_by_key_.find(std::string(key));
  return it == sensor_index_by_key_.end() ? nullptr : &sensors[it->second];
}

const std::vector<const sensor*>& city::sensors_of(district_id d) const {
  TWIN_REQUIRE_OP(d.value, <, sensors_by_district_.size());
  return sensors_by_district_[d.value];
}

const std::vector<link_id>& city::links_of(district_id d) const {
  TWIN_REQUIRE_OP(d.value, <, links_by_district_.size());
  return links_by_district_[d.value];
}

}  // namespace twin
