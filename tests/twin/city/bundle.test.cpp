#include "twin/city/bundle.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "twin/city/bundle_writer.hpp"
#include "twin/city/geo.hpp"

namespace fs = std::filesystem;

namespace {

const fs::path small_bundle = fs::path(CITYTWIN_TEST_DATA) / "bundles" / "small";
const fs::path macau_bundle = fs::path(CITYTWIN_EXAMPLES) / "macau";

twin::city load_ok(const fs::path& dir) {
  auto c = twin::load_city(dir);
  if (!c) FAIL("loading " << dir << " failed: " << c.error().to_string());
  return std::move(c).value();
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

// A copy of the small bundle with `from` replaced by `to` in one of its files.
fs::path broken_bundle(const std::string& name, const std::string& file, const std::string& from,
                       const std::string& to) {
  fs::path dir = fs::path(CITYTWIN_BINARY_DIR) / "test-bundles" / name;
  fs::remove_all(dir);
  fs::create_directories(dir.parent_path());
  fs::copy(small_bundle, dir, fs::copy_options::recursive);
  std::string text = read_text(dir / file);
  auto at = text.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, "'" << from << "' not in " << file);
  text.replace(at, from.size(), to);
  std::ofstream(dir / file, std::ios::binary | std::ios::trunc) << text;
  return dir;
}

twin::load_error load_error_of(const fs::path& dir) {
  auto c = twin::load_city(dir);
  REQUIRE_FALSE(c.has_value());
  return c.error();
}

void check_error(const fs::path& dir, const std::string& file, std::size_t line,
                 const std::string& field, const std::string& message_part) {
  auto e = load_error_of(dir);
  INFO(e.to_string());
  CHECK(e.file == (dir / file).string());
  CHECK(e.line == line);
  CHECK(e.field == field);
  CHECK(e.message.find(message_part) != std::string::npos);
}

bool same(twin::lon_lat a, twin::lon_lat b) {
  return a.lon == b.lon && a.lat == b.lat;
}

// Every field of two cities, so that a round trip proves nothing is lost or altered.
void check_same_city(const twin::city& a, const twin::city& b) {
  CHECK(a.name == b.name);
  REQUIRE(a.fleet.shares.size() == b.fleet.shares.size());
  for (std::size_t i = 0; i < a.fleet.shares.size(); ++i) {
    CHECK(a.fleet.shares[i].category == b.fleet.shares[i].category);
    CHECK(a.fleet.shares[i].f == b.fleet.shares[i].f);
    CHECK(a.fleet.shares[i].standard == b.fleet.shares[i].standard);
    CHECK(a.fleet.shares[i].share == b.fleet.shares[i].share);
  }
  REQUIRE(a.districts.size() == b.districts.size());
  for (std::size_t i = 0; i < a.districts.size(); ++i) {
    const auto& x = a.districts[i];
    const auto& y = b.districts[i];
    CHECK(x.id == y.id);
    CHECK(x.key == y.key);
    CHECK(x.name == y.name);
    CHECK(x.population == y.population);
    CHECK(x.area_km2 == y.area_km2);
    REQUIRE(x.area.size() == y.area.size());
    for (std::size_t p = 0; p < x.area.size(); ++p) {
      REQUIRE(x.area[p].rings.size() == y.area[p].rings.size());
      for (std::size_t r = 0; r < x.area[p].rings.size(); ++r) {
        const auto& rx = x.area[p].rings[r];
        const auto& ry = y.area[p].rings[r];
        REQUIRE(rx.size() == ry.size());
        CHECK(std::equal(rx.begin(), rx.end(), ry.begin(), same));
      }
    }
  }
  REQUIRE(a.nodes.size() == b.nodes.size());
  for (std::size_t i = 0; i < a.nodes.size(); ++i) {
    CHECK(a.nodes[i].id == b.nodes[i].id);
    CHECK(a.nodes[i].number == b.nodes[i].number);
    CHECK(same(a.nodes[i].position, b.nodes[i].position));
  }
  REQUIRE(a.links.size() == b.links.size());
  for (std::size_t i = 0; i < a.links.size(); ++i) {
    const auto& x = a.links[i];
    const auto& y = b.links[i];
    CHECK(x.id == y.id);
    CHECK(x.key == y.key);
    CHECK(x.from == y.from);
    CHECK(x.to == y.to);
    CHECK(x.length_m == y.length_m);
    CHECK(x.capacity_veh_h == y.capacity_veh_h);
    CHECK(x.free_speed_kmh == y.free_speed_kmh);
    CHECK(x.lanes == y.lanes);
    CHECK(x.district == y.district);
    CHECK(x.name == y.name);
  }
  REQUIRE(a.zones.size() == b.zones.size());
  for (std::size_t i = 0; i < a.zones.size(); ++i) {
    CHECK(a.zones[i].id == b.zones[i].id);
    CHECK(a.zones[i].number == b.zones[i].number);
    CHECK(a.zones[i].district == b.zones[i].district);
    CHECK(a.zones[i].centroid == b.zones[i].centroid);
  }
  REQUIRE(a.demand.size() == b.demand.size());
  for (std::size_t i = 0; i < a.demand.size(); ++i) {
    CHECK(a.demand[i].from == b.demand[i].from);
    CHECK(a.demand[i].to == b.demand[i].to);
    CHECK(a.demand[i].trips_veh_h == b.demand[i].trips_veh_h);
  }
  REQUIRE(a.sensors.size() == b.sensors.size());
  for (std::size_t i = 0; i < a.sensors.size(); ++i) {
    const auto& x = a.sensors[i];
    const auto& y = b.sensors[i];
    CHECK(x.id == y.id);
    CHECK(x.key == y.key);
    CHECK(x.kind == y.kind);
    CHECK(x.district == y.district);
    CHECK(same(x.position, y.position));
    CHECK(x.link == y.link);
    CHECK(x.site == y.site);
    CHECK(x.capacity == y.capacity);
    CHECK(x.cadence_ms == y.cadence_ms);
  }
  CHECK(a.cadence_ms == b.cadence_ms);
  REQUIRE(a.sources.size() == b.sources.size());
  for (std::size_t i = 0; i < a.sources.size(); ++i) {
    const auto& x = a.sources[i];
    const auto& y = b.sources[i];
    CHECK(x.key == y.key);
    CHECK(x.name == y.name);
    CHECK(x.district == y.district);
    CHECK(same(x.position, y.position));
    CHECK(x.stack_height_m == y.stack_height_m);
    CHECK(x.stack_diameter_m == y.stack_diameter_m);
    CHECK(x.exit_velocity_m_s == y.exit_velocity_m_s);
    CHECK(x.exit_temperature_k == y.exit_temperature_k);
    CHECK(x.nox_g_s == y.nox_g_s);
    CHECK(x.pm25_g_s == y.pm25_g_s);
    CHECK(x.co2_g_s == y.co2_g_s);
  }
  REQUIRE(a.rules.size() == b.rules.size());
  for (std::size_t i = 0; i < a.rules.size(); ++i) {
    const auto& x = a.rules[i];
    const auto& y = b.rules[i];
    CHECK(x.key == y.key);
    CHECK(x.kind == y.kind);
    CHECK(x.window == y.window);
    CHECK(x.aggregate == y.aggregate);
    CHECK(x.above == y.above);
    CHECK(x.threshold == y.threshold);
    CHECK(x.clear_at == y.clear_at);
    CHECK(x.level == y.level);
    CHECK(x.district == y.district);
    CHECK(x.message == y.message);
  }
}

// True when every node reaches every other along the directed links.
bool strongly_connected(const twin::city& c) {
  if (c.nodes.empty()) return true;
  auto reaches_all = [&](bool forward) {
    std::vector<std::vector<std::uint32_t>> next(c.nodes.size());
    for (const auto& l : c.links)
      forward ? next[l.from.value].push_back(l.to.value) : next[l.to.value].push_back(l.from.value);
    std::vector<bool> seen(c.nodes.size(), false);
    std::vector<std::uint32_t> stack{0};
    seen[0] = true;
    std::size_t count = 1;
    while (!stack.empty()) {
      auto n = stack.back();
      stack.pop_back();
      for (auto m : next[n])
        if (!seen[m]) {
          seen[m] = true;
          ++count;
          stack.push_back(m);
        }
    }
    return count == c.nodes.size();
  };
  return reaches_all(true) && reaches_all(false);
}

}  // namespace

TEST_CASE("load_error prints file, line and field, leaving out the empty parts") {
  twin::load_error e{"b/sensors.csv", 12, "kind", "unknown sensor kind 'pm3'"};
  CHECK(e.to_string() == "b/sensors.csv:12: field 'kind': unknown sensor kind 'pm3'");
  e.line = 0;
  CHECK(e.to_string() == "b/sensors.csv: field 'kind': unknown sensor kind 'pm3'");
  e.field.clear();
  CHECK(e.to_string() == "b/sensors.csv: unknown sensor kind 'pm3'");
  e.file.clear();
  CHECK(e.to_string() == "unknown sensor kind 'pm3'");
}

TEST_CASE("the small bundle loads every section") {
  auto c = load_ok(small_bundle);
  CHECK(c.name == "Vila Pequena");

  REQUIRE(c.districts.size() == 3);
  CHECK(c.districts[1].key == "b");
  CHECK(c.districts[1].name == "Baixa, sul");
  CHECK(c.districts[1].population == 2500.5);
  CHECK(c.districts[1].area.size() == 2);
  CHECK(c.districts[0].area_km2 == 1.2);
  // District c gives no area: it is computed from the polygon, a 2x2 hundredths-of-a-degree
  // square with a 1x1 hole: 3e-4 square degrees at 22.12 N.
  CHECK(c.districts[2].area_km2 == doctest::Approx(3.4412).epsilon(0.002));
  CHECK_FALSE(twin::contains(c.districts[2].area, {113.51, 22.12}));  // in the hole
  CHECK(twin::contains(c.districts[2].area, {113.502, 22.128}));

  REQUIRE(c.nodes.size() == 4);
  CHECK(c.nodes[1].number == 20);
  CHECK(c.nodes[1].position.lon == 113.515);
  CHECK(c.nodes[2].position.lat == 22.12);  // after a blank line

  REQUIRE(c.links.size() == 6);
  CHECK(c.links[0].name == "Rua A, norte");
  CHECK(c.links[5].name == "Ponte \"Velha\"");
  CHECK(c.links[4].name.empty());
  CHECK(c.links[2].from == twin::node_id{0});
  CHECK(c.links[2].to == twin::node_id{2});
  CHECK(c.links[2].lanes == 2);
  CHECK(c.links[3].district == twin::district_id{2});
  CHECK(c.links_of(twin::district_id{1}).size() == 3);

  REQUIRE(c.zones.size() == 3);
  CHECK(c.zones[1].centroid == twin::node_id{3});
  REQUIRE(c.demand.size() == 3);
  CHECK(c.demand[0].from == twin::zone_id{0});
  CHECK(c.demand[0].to == twin::zone_id{1});
  CHECK(c.demand[0].trips_veh_h == 100.5);

  REQUIRE(c.sensors.size() == 5);
  const auto* visitors = c.find_sensor(twin::sensor_id{7});
  REQUIRE(visitors != nullptr);
  CHECK(visitors->kind == twin::sensor_kind::visitors);
  CHECK(visitors->site == "Praça, central");
  CHECK(visitors->capacity == 1500);
  CHECK(c.find_sensor("a-flow")->link == twin::link_id{0});
  CHECK_FALSE(c.find_sensor("b-pm25")->link.has_value());
  CHECK(c.sensors_of(twin::district_id{1}).size() == 2);

  REQUIRE(c.sources.size() == 1);
  CHECK(c.sources[0].name == "Central, velha");
  CHECK(c.sources[0].exit_temperature_k == 420);

  REQUIRE(c.rules.size() == 2);
  CHECK(c.rules[0].window == twin::rule_window::one_hour);
  CHECK(c.rules[0].above);
  CHECK(c.rules[0].threshold == 37.5);
  CHECK_FALSE(c.rules[0].district.has_value());
  CHECK(c.rules[1].aggregate == twin::rule_aggregate::mean);
  CHECK_FALSE(c.rules[1].above);
  CHECK(c.rules[1].level == twin::severity::critical);
  CHECK(c.rules[1].district == twin::district_id{0});
  CHECK(c.rules[1].message.empty());
  CHECK_FALSE(c.rules[0].clear_at.has_value());
  CHECK(c.rules[1].clear_at == 20.0);
}

TEST_CASE("a bundle with only a name is an empty city") {
  fs::path dir = fs::path(CITYTWIN_BINARY_DIR) / "test-bundles" / "empty";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "city.yaml") << "citytwin_bundle: 1\nname: Nowhere\n";
  auto c = load_ok(dir);
  CHECK(c.name == "Nowhere");
  CHECK(c.districts.empty());
  CHECK(c.links.empty());
  CHECK(c.sensors.empty());
  CHECK(c.rules.empty());
}

TEST_CASE("bad bundles fail with the file, line and field at fault") {
  SUBCASE("missing bundle folder") {
    fs::path dir = fs::path(CITYTWIN_BINARY_DIR) / "test-bundles" / "does-not-exist";
    check_error(dir, "city.yaml", 0, "", "cannot open file");
  }
  SUBCASE("missing data file") {
    auto dir =
        broken_bundle("missing-file", "city.yaml", "sensors: sensors.csv", "sensors: sensor.csv");
    check_error(dir, "sensor.csv", 0, "", "cannot open file");
  }
  SUBCASE("missing required column") {
    auto dir = broken_bundle("missing-column", "links.csv", ",lanes,", ",lane_count,");
    check_error(dir, "links.csv", 1, "lanes", "missing required column");
  }
  SUBCASE("non-numeric value") {
    auto dir = broken_bundle("non-numeric", "nodes.csv", "22.12,30,113.502", "22.12,30,east");
    check_error(dir, "nodes.csv", 6, "lon", "'east' is not a finite number");
  }
  SUBCASE("NaN") {
    auto dir = broken_bundle("nan", "links.csv", "ac,10,30,1700", "ac,10,30,nan");
    check_error(dir, "links.csv", 4, "length_m", "not a finite number");
  }
  SUBCASE("negative where not allowed") {
    auto dir = broken_bundle("negative", "demand.csv", "2,1,80", "2,1,-80");
    check_error(dir, "demand.csv", 3, "trips_veh_h", "must not be negative");
  }
  SUBCASE("empty value in a required column") {
    auto dir = broken_bundle("empty-value", "zones.csv", "2,b,40", "2,,40");
    check_error(dir, "zones.csv", 3, "district", "missing value");
  }
  SUBCASE("duplicate node id") {
    auto dir = broken_bundle("duplicate-node", "nodes.csv", "22.104,40,", "22.104,30,");
    check_error(dir, "nodes.csv", 7, "id", "duplicate node 30");
  }
  SUBCASE("duplicate link id") {
    auto dir = broken_bundle("duplicate-link", "links.csv", "db,40,20", "bd,40,20");
    check_error(dir, "links.csv", 7, "id", "duplicate link 'bd'");
  }
  SUBCASE("duplicate sensor id") {
    auto dir = broken_bundle("duplicate-sensor-id", "sensors.csv", "9,b-bin", "5,b-bin");
    check_error(dir, "sensors.csv", 6, "id", "duplicate sensor id 5");
  }
  SUBCASE("duplicate sensor key") {
    auto dir = broken_bundle("duplicate-sensor-key", "sensors.csv", "9,b-bin", "9,b-pm25");
    check_error(dir, "sensors.csv", 6, "key", "duplicate sensor key 'b-pm25'");
  }
  SUBCASE("duplicate district key") {
    auto dir =
        broken_bundle("duplicate-district", "districts.geojson", "\"id\": \"c\"", "\"id\": \"a\"");
    check_error(dir, "districts.geojson", 0, "features[2].properties.id", "duplicate district 'a'");
  }
  SUBCASE("duplicate rule id") {
    auto dir = broken_bundle("duplicate-rule", "city.yaml", "id: slow-a", "id: pm25-high");
    check_error(dir, "city.yaml", 20, "rules[1].id", "duplicate rule 'pm25-high'");
  }
  SUBCASE("unknown district") {
    auto dir =
        broken_bundle("unknown-district", "sensors.csv", "5,b-pm25,pm25,b,", "5,b-pm25,pm25,z,");
    check_error(dir, "sensors.csv", 4, "district", "unknown district 'z'");
  }
  SUBCASE("unknown node") {
    auto dir = broken_bundle("unknown-node", "links.csv", "bd,20,40", "bd,20,41");
    check_error(dir, "links.csv", 6, "to", "unknown node 41");
  }
  SUBCASE("unknown link") {
    auto dir = broken_bundle("unknown-link", "sensors.csv", "22.105,ab,,\n2,", "22.105,xy,,\n2,");
    check_error(dir, "sensors.csv", 2, "link", "unknown link 'xy'");
  }
  SUBCASE("unknown zone") {
    auto dir = broken_bundle("unknown-zone", "demand.csv", "1,3,20", "1,4,20");
    check_error(dir, "demand.csv", 4, "to", "unknown zone 4");
  }
  SUBCASE("unknown district in a rule") {
    auto dir = broken_bundle("unknown-rule-district", "city.yaml", "district: a", "district: q");
    check_error(dir, "city.yaml", 25, "rules[1].district", "unknown district 'q'");
  }
  SUBCASE("unknown sensor kind") {
    auto dir = broken_bundle("unknown-kind", "sensors.csv", "b-pm25,pm25", "b-pm25,pm3");
    check_error(dir, "sensors.csv", 4, "kind", "unknown sensor kind 'pm3'");
  }
  SUBCASE("unknown rule window") {
    auto dir = broken_bundle("unknown-window", "city.yaml", "window: 15m", "window: 5m");
    check_error(dir, "city.yaml", 22, "rules[1].window",
                "unknown window '5m' (known: latest, 1m, 15m, 1h)");
  }
  SUBCASE("a misspelt key is refused, not ignored") {
    auto dir =
        broken_bundle("misspelt", "city.yaml", "sensors: sensors.csv", "sensor: sensors.csv");
    check_error(dir, "city.yaml", 10, "sensor",
                "unknown key 'sensor' (known: citytwin_bundle, name, districts, network, zones, "
                "demand, sensors, sources, fleet, cadence, rules)");
  }
  SUBCASE("a misspelt rule key is refused") {
    auto dir =
        broken_bundle("misspelt-rule", "city.yaml", "severity: critical", "severty: critical");
    check_error(dir, "city.yaml", 24, "rules[1].severty", "unknown key 'severty'");
  }
  SUBCASE("clear_at on the wrong side of the threshold") {
    auto dir = broken_bundle("clear-at", "city.yaml", "clear_at: 20", "clear_at: 10");
    check_error(dir, "city.yaml", 26, "rules[1].clear_at", "must be at or above 'below'");
  }
  SUBCASE("traffic sensor without link") {
    auto dir = broken_bundle("no-link", "sensors.csv", "22.105,ab,,\n2,", "22.105,,,\n2,");
    check_error(dir, "sensors.csv", 2, "link", "a traffic_speed sensor needs a link");
  }
  SUBCASE("link on a sensor that is not a traffic sensor") {
    auto dir = broken_bundle("link-on-pm25", "sensors.csv", "22.105,,,\n", "22.105,ab,,\n");
    check_error(dir, "sensors.csv", 4, "link", "only traffic sensors sit on a link");
  }
  SUBCASE("visitors sensor without capacity") {
    auto dir = broken_bundle("no-capacity", "sensors.csv", "central\",1500", "central\",");
    check_error(dir, "sensors.csv", 5, "capacity", "needs the capacity");
  }
  SUBCASE("sensor id at sensor_id_max") {
    auto dir = broken_bundle("big-id", "sensors.csv", "9,b-bin", "16777216,b-bin");
    check_error(dir, "sensors.csv", 6, "id", "must be below 16777216");
  }
  SUBCASE("link that starts and ends at one node") {
    auto dir = broken_bundle("loop", "links.csv", "ca,30,10", "ca,30,30");
    check_error(dir, "links.csv", 5, "to", "cannot end at the node it starts from");
  }
  SUBCASE("row with a stray comma") {
    auto dir = broken_bundle("extra-field", "links.csv", "Avenida C\nca", "Avenida, C\nca");
    check_error(dir, "links.csv", 4, "", "row has 10 fields, the header has 9");
  }
  SUBCASE("malformed YAML") {
    auto dir = broken_bundle("bad-yaml", "city.yaml", "  - id: slow-a", "  - id: [slow-a");
    auto e = load_error_of(dir);
    INFO(e.to_string());
    CHECK(e.file == (dir / "city.yaml").string());
    CHECK(e.line >= 20);
    CHECK(e.line <= 21);
    CHECK(e.message.find("malformed YAML") != std::string::npos);
  }
  SUBCASE("malformed GeoJSON syntax") {
    auto dir =
        broken_bundle("bad-json", "districts.geojson", "\"population\": 0}", "\"population\": 0,}");
    check_error(dir, "districts.geojson", 8, "", "malformed JSON");
  }
  SUBCASE("GeoJSON feature without population") {
    auto dir = broken_bundle("no-population", "districts.geojson", "\"population\": 1000, ", "");
    check_error(dir, "districts.geojson", 0, "features[0].properties.population", "missing");
  }
  SUBCASE("GeoJSON ring that is not closed") {
    auto dir =
        broken_bundle("open-ring", "districts.geojson", "[113.50, 22.11], [113.50, 22.10]]]}}",
                      "[113.50, 22.11], [113.50, 22.105]]]}}");
    check_error(dir, "districts.geojson", 0, "features[0].geometry.coordinates[0]", "not closed");
  }
  SUBCASE("GeoJSON with another geometry type") {
    auto dir =
        broken_bundle("point", "districts.geojson", "\"type\": \"Polygon\"", "\"type\": \"Point\"");
    check_error(dir, "districts.geojson", 0, "features[0].geometry.type",
                "Polygon or MultiPolygon");
  }
  SUBCASE("wrong bundle version") {
    auto dir = broken_bundle("version", "city.yaml", "citytwin_bundle: 1", "citytwin_bundle: 2");
    check_error(dir, "city.yaml", 2, "citytwin_bundle", "unsupported bundle format version '2'");
  }
  SUBCASE("not a bundle") {
    auto dir = broken_bundle("no-version", "city.yaml", "citytwin_bundle: 1", "format: 1");
    check_error(dir, "city.yaml", 1, "citytwin_bundle", "not a city bundle");
  }
}

// The small bundle with a cadence per kind in city.yaml and one sensor's own in sensors.csv.
fs::path cadence_bundle(const std::string& name, const std::string& cadence_yaml,
                        const std::string& pm25_row_cadence) {
  auto dir = broken_bundle(name, "city.yaml", "sensors: sensors.csv\n",
                           "sensors: sensors.csv\n" + cadence_yaml);
  std::string text = read_text(dir / "sensors.csv");
  // Every row gets the column: empty but for b-pm25's.
  std::string out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("id,", 0) == 0)
      out += line + ",cadence\n";
    else if (line.find(",b-pm25,") != std::string::npos)
      out += line + "," + pm25_row_cadence + "\n";
    else
      out += line + ",\n";
  }
  text = out;
  std::ofstream(dir / "sensors.csv", std::ios::binary | std::ios::trunc) << text;
  return dir;
}

TEST_CASE("cadences: defaults per kind, the bundle's per kind, a sensor's own") {
  using twin::ms_per_hour;
  using twin::ms_per_minute;
  using twin::sensor_kind;
  // The defaults, as documented in the README's bundle format.
  CHECK(twin::default_cadence_ms(sensor_kind::traffic_speed) == 5 * ms_per_minute);
  CHECK(twin::default_cadence_ms(sensor_kind::traffic_flow) == 5 * ms_per_minute);
  CHECK(twin::default_cadence_ms(sensor_kind::traffic_occupancy) == 5 * ms_per_minute);
  CHECK(twin::default_cadence_ms(sensor_kind::pm25) == ms_per_hour);
  CHECK(twin::default_cadence_ms(sensor_kind::pm10) == ms_per_hour);
  CHECK(twin::default_cadence_ms(sensor_kind::no2) == ms_per_hour);
  CHECK(twin::default_cadence_ms(sensor_kind::co2) == 5 * ms_per_minute);
  CHECK(twin::default_cadence_ms(sensor_kind::noise) == ms_per_minute);
  CHECK(twin::default_cadence_ms(sensor_kind::wind_speed) == 10 * ms_per_minute);
  CHECK(twin::default_cadence_ms(sensor_kind::wind_direction) == 10 * ms_per_minute);
  CHECK(twin::default_cadence_ms(sensor_kind::temperature) == 10 * ms_per_minute);
  CHECK(twin::default_cadence_ms(sensor_kind::humidity) == 10 * ms_per_minute);
  CHECK(twin::default_cadence_ms(sensor_kind::visitors) == 5 * ms_per_minute);
  CHECK(twin::default_cadence_ms(sensor_kind::waste_fill) == ms_per_hour);

  // A bundle without `cadence` keeps the defaults: old bundles stay valid.
  auto small = load_ok(small_bundle);
  CHECK(small.cadence_ms == twin::default_cadences_ms());
  const auto* pm25 = small.find_sensor("b-pm25");
  REQUIRE(pm25 != nullptr);
  CHECK_FALSE(pm25->cadence_ms.has_value());
  CHECK(small.cadence_of(*pm25) == ms_per_hour);
  CHECK(small.stale_after_of(*pm25) == 2 * ms_per_hour);

  auto dir = cadence_bundle("cadence", "cadence: {traffic_speed: 1m, waste_fill: 6h}\n", "30m");
  auto c = load_ok(dir);
  const auto* speed = c.find_sensor("a-speed");
  const auto* bin = c.find_sensor("b-bin");
  const auto* flow = c.find_sensor("a-flow");
  pm25 = c.find_sensor("b-pm25");
  REQUIRE((speed && bin && flow && pm25));
  CHECK(c.cadence_of(*speed) == ms_per_minute);
  CHECK(c.stale_after_of(*speed) == 2 * ms_per_minute);
  CHECK(c.cadence_of(*bin) == 6 * ms_per_hour);
  CHECK(c.cadence_of(*flow) == 5 * ms_per_minute);  // the kind's default
  CHECK(pm25->cadence_ms == 30 * ms_per_minute);
  CHECK(c.cadence_of(*pm25) == 30 * ms_per_minute);
  CHECK(c.stale_after_of(*pm25) == ms_per_hour);

  // Written and read back, cadences included.
  fs::path out = fs::path(CITYTWIN_BINARY_DIR) / "test-bundles" / "cadence-written";
  fs::remove_all(out);
  auto written = twin::write_city(c, out);
  REQUIRE_MESSAGE(written.has_value(), written.error().to_string());
  check_same_city(c, load_ok(out));
  CHECK(read_text(out / "city.yaml").find("cadence:\n  traffic_speed: 1m\n  waste_fill: 6h\n") !=
        std::string::npos);
}

TEST_CASE("bad cadences fail with the file, line and field") {
  // city.yaml of the small bundle: `sensors:` is on line 10, so `cadence:` follows on line 11.
  SUBCASE("unknown unit") {
    auto dir = cadence_bundle("cadence-unit", "cadence:\n  pm25: 90x\n", "");
    check_error(dir, "city.yaml", 12, "cadence.pm25", "unknown unit in '90x'");
  }
  SUBCASE("not a duration") {
    auto dir = cadence_bundle("cadence-text", "cadence:\n  noise: often\n", "");
    check_error(dir, "city.yaml", 12, "cadence.noise", "not a duration: 'often'");
  }
  SUBCASE("zero") {
    auto dir = cadence_bundle("cadence-zero", "cadence:\n  noise: 1m\n  co2: 0s\n", "");
    check_error(dir, "city.yaml", 13, "cadence.co2", "must be above 0 and at most 1d, got 0s");
  }
  SUBCASE("longer than a day") {
    auto dir = cadence_bundle("cadence-long", "cadence:\n  waste_fill: 2d\n", "");
    check_error(dir, "city.yaml", 12, "cadence.waste_fill", "at most 1d, got 2d");
  }
  SUBCASE("unknown kind") {
    auto dir = cadence_bundle("cadence-kind", "cadence:\n  pm26: 1h\n", "");
    check_error(dir, "city.yaml", 12, "cadence.pm26", "unknown sensor kind 'pm26'");
  }
  SUBCASE("not a map") {
    auto dir = cadence_bundle("cadence-list", "cadence: [1h]\n", "");
    check_error(dir, "city.yaml", 11, "cadence", "expected a map");
  }
  SUBCASE("a sensor's own") {
    // sensors.csv: the header, then a-speed, a-flow, b-pm25 on line 4.
    auto dir = cadence_bundle("cadence-sensor", "", "soon");
    check_error(dir, "sensors.csv", 4, "cadence", "not a duration: 'soon'");
    dir = cadence_bundle("cadence-sensor-zero", "", "0");
    check_error(dir, "sensors.csv", 4, "cadence", "must be above 0 and at most 1d, got '0'");
  }
}

TEST_CASE("a written bundle loads back identically") {
  SUBCASE("small") {
    auto a = load_ok(small_bundle);
    fs::path dir = fs::path(CITYTWIN_BINARY_DIR) / "test-bundles" / "small-written";
    fs::remove_all(dir);
    auto written = twin::write_city(a, dir);
    REQUIRE_MESSAGE(written.has_value(), written.error().to_string());
    check_same_city(a, load_ok(dir));
  }
  SUBCASE("macau") {
    auto a = load_ok(macau_bundle);
    fs::path dir = fs::path(CITYTWIN_BINARY_DIR) / "test-bundles" / "macau-written";
    fs::remove_all(dir);
    auto written = twin::write_city(a, dir);
    REQUIRE_MESSAGE(written.has_value(), written.error().to_string());
    check_same_city(a, load_ok(dir));
  }
}

TEST_CASE("write_city refuses text it cannot represent") {
  auto c = load_ok(small_bundle);
  c.links[0].name = "two\nlines";
  fs::path dir = fs::path(CITYTWIN_BINARY_DIR) / "test-bundles" / "unwritable";
  auto written = twin::write_city(c, dir);
  REQUIRE_FALSE(written.has_value());
  CHECK(written.error().file == (dir / "links.csv").string());
  CHECK(written.error().field == "name");
}

TEST_CASE("the Macau bundle holds the real parishes and a connected network") {
  auto c = load_ok(macau_bundle);
  CHECK(c.name == "Macau");

  // DSEC 2021 census populations and land areas; the census counts Cotai residents in Coloane.
  const std::vector<std::tuple<std::string, double, double>> parishes{
      {"fatima", 256381, 3.2},
      {"santo-antonio", 133920, 1.1},
      {"sao-lazaro", 33442, 0.6},
      {"se", 55275, 3.4},
      {"sao-lourenco", 53840, 1.0},
      {"carmo-taipa", 112051, 7.9},
      {"cotai", 0, 6.1},
      {"sao-francisco-xavier-coloane", 36384, 7.6}};
  REQUIRE(c.districts.size() == 8);
  for (std::size_t i = 0; i < parishes.size(); ++i) {
    CHECK(c.districts[i].key == std::get<0>(parishes[i]));
    CHECK(c.districts[i].population == std::get<1>(parishes[i]));
    CHECK(c.districts[i].area_km2 == std::get<2>(parishes[i]));
  }
  // The polygons are the real ones: their areas match the OSM figures within a few percent.
  CHECK(twin::area_km2(c.districts[0].area) == doctest::Approx(3.248).epsilon(0.03));
  CHECK(twin::area_km2(c.districts[6].area) == doctest::Approx(6.103).epsilon(0.03));

  CHECK(c.nodes.size() == 70);
  CHECK(c.links.size() == 200);
  CHECK(strongly_connected(c));

  std::map<std::string, int> bridge_links;
  for (const auto& l : c.links) {
    bridge_links[l.name]++;
    const auto& a = c.nodes[l.from.value].position;
    const auto& b = c.nodes[l.to.value].position;
    CHECK(l.length_m >= twin::haversine_m(a, b) * 0.999);
    CHECK(l.length_m <= twin::haversine_m(a, b) * 1.2);
    CHECK(l.free_speed_kmh >= 40);
    CHECK(l.free_speed_kmh <= 80);
  }
  for (const char* bridge : {"Ponte Governador Nobre de Carvalho", "Ponte da Amizade",
                             "Ponte de Sai Van", "Ponte Flor de Lotus"})
    CHECK_MESSAGE(bridge_links[bridge] == 2, bridge);

  // Every bridge link carries speed and flow sensors.
  std::set<std::pair<std::uint32_t, twin::sensor_kind>> on_link;
  for (const auto& s : c.sensors)
    if (s.link) on_link.emplace(s.link->value, s.kind);
  for (const auto& l : c.links)
    if (l.name.rfind("Ponte", 0) == 0) {
      CHECK_MESSAGE(on_link.count({l.id.value, twin::sensor_kind::traffic_speed}), l.key);
      CHECK_MESSAGE(on_link.count({l.id.value, twin::sensor_kind::traffic_flow}), l.key);
    }

  CHECK(c.sensors.size() == 471);
  std::set<twin::sensor_kind> kinds;
  for (const auto& s : c.sensors) {
    kinds.insert(s.kind);
    CHECK_MESSAGE(twin::contains(c.districts[s.district.value].area, s.position), s.key);
  }
  CHECK(kinds.size() == twin::sensor_kind_count);
  for (std::uint32_t d = 0; d < 8; ++d) {
    bool has_bin = false;
    for (const auto* s : c.sensors_of(twin::district_id{d}))
      has_bin = has_bin || s->kind == twin::sensor_kind::waste_fill;
    CHECK_MESSAGE(has_bin, c.districts[d].key);
  }
  const auto* st_paul = c.find_sensor("sa-visitors-01");
  REQUIRE(st_paul != nullptr);
  CHECK(st_paul->site == "Ruins of St. Paul's");

  // One or more zones per parish plus the three border crossings.
  CHECK(c.zones.size() == 17);
  std::set<std::uint32_t> zoned;
  for (const auto& z : c.zones) zoned.insert(z.district.value);
  CHECK(zoned.size() == 8);
  double total_veh_h = 0;
  for (const auto& d : c.demand) total_veh_h += d.trips_veh_h;
  CHECK(total_veh_h >= 40'000);
  CHECK(total_veh_h <= 80'000);

  CHECK(c.sources.size() == 5);
  REQUIRE(c.rules.size() == 8);
  CHECK(c.rules[0].threshold == 37.5);
}

TEST_CASE("the fleet file: shares of the vehicle-km per category, fuel and standard") {
  SUBCASE("the small bundle's fleet") {
    auto c = load_ok(small_bundle);
    REQUIRE(c.fleet.shares.size() == 4);
    CHECK(c.fleet.shares[2].category == twin::vehicle_category::bus);
    CHECK(c.fleet.shares[2].f == twin::fuel::diesel);
    CHECK(c.fleet.shares[2].standard == twin::euro_standard::euro_6);  // written "euro_vi"
    CHECK(c.fleet.shares[2].share == 0.1);
    CHECK(twin::total_share(c.fleet) == doctest::Approx(1.0));
  }
  SUBCASE("a bundle without a fleet file gets the default mix") {
    auto dir = broken_bundle("no-fleet", "city.yaml", "fleet: fleet.csv", "");
    auto c = load_ok(dir);
    auto d = twin::default_fleet_mix();
    REQUIRE(c.fleet.shares.size() == d.shares.size());
    CHECK(c.fleet.shares[0].share == d.shares[0].share);
  }
  SUBCASE("Macau: about as many motorcycles and mopeds on the road as in cars") {
    auto c = load_ok(macau_bundle);
    CHECK_FALSE(twin::validate(c.fleet).has_value());
    double two_wheelers = twin::category_share(c.fleet, twin::vehicle_category::motorcycle) +
                          twin::category_share(c.fleet, twin::vehicle_category::moped);
    CHECK(two_wheelers == doctest::Approx(0.29));
    CHECK(twin::category_share(c.fleet, twin::vehicle_category::car) == doctest::Approx(0.45));
  }
  SUBCASE("missing column") {
    auto dir = broken_bundle("fleet-column", "fleet.csv", "fuel,standard", "fuel,euro");
    check_error(dir, "fleet.csv", 1, "standard", "missing required column");
  }
  SUBCASE("unknown category, with its line") {
    auto dir = broken_bundle("fleet-category", "fleet.csv", "bus,diesel", "tram,diesel");
    check_error(dir, "fleet.csv", 4, "category", "unknown vehicle category 'tram'");
  }
  SUBCASE("unknown fuel") {
    auto dir = broken_bundle("fleet-fuel", "fleet.csv", "car,petrol", "car,steam");
    check_error(dir, "fleet.csv", 2, "fuel", "unknown fuel 'steam'");
  }
  SUBCASE("unknown standard") {
    auto dir = broken_bundle("fleet-standard", "fleet.csv", "euro_4", "euro_9");
    check_error(dir, "fleet.csv", 5, "standard", "unknown emission standard 'euro_9'");
  }
  SUBCASE("negative share") {
    auto dir = broken_bundle("fleet-negative", "fleet.csv", "euro_5,0.2", "euro_5,-0.2");
    check_error(dir, "fleet.csv", 3, "share", "must not be negative");
  }
  SUBCASE("shares not summing to 1") {
    auto dir = broken_bundle("fleet-sum", "fleet.csv", "euro_4,0.2", "euro_4,0.3");
    check_error(dir, "fleet.csv", 0, "share", "shares sum to 1.1, not 1");
  }
  SUBCASE("the same kind twice") {
    auto dir =
        broken_bundle("fleet-duplicate", "fleet.csv", "car,diesel,euro_5", "car,petrol,euro_6");
    check_error(dir, "fleet.csv", 3, "standard", "duplicate vehicle kind");
  }
}
