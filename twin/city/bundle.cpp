#include "twin/city/bundle.hpp"

#include <algorithm>
#include <array>
#include <fstream>
#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "twin/base/csv.hpp"
#include "twin/base/text.hpp"
#include "twin/base/time_text.hpp"
#include "twin/base/yaml_reader.hpp"
#include "twin/city/geo.hpp"

namespace twin {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// Loading is a boundary: deep inside the parsers an error unwinds as load_failure, and
// load_city turns it into the returned load_error. It never leaves this file.
[[noreturn]] void raise(std::string file, std::size_t line, std::string field,
                        std::string message) {
  throw load_failure{{std::move(file), line, std::move(field), std::move(message)}};
}

// Lower bounds that numeric columns can demand.
enum class bound : std::uint8_t { any, non_negative, positive };

std::string format_number(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

void check_bound(double v, bound b, const std::string& file, std::size_t line,
                 std::string_view field) {
  if (b == bound::non_negative && v < 0)
    raise(file, line, std::string(field), "must not be negative, got " + format_number(v));
  if (b == bound::positive && v <= 0)
    raise(file, line, std::string(field), "must be greater than 0, got " + format_number(v));
}

// ---------------------------------------------------------------------------------------------
// A CSV file whose columns are looked up by name.
class table {
 public:
  table(const fs::path& path, std::initializer_list<std::string_view> required,
        std::initializer_list<std::string_view> optional = {})
      : file_(path.string()), reader_(file_) {
    if (!reader_.is_open()) raise(file_, 0, "", "cannot open file");
    if (!reader_.read_header()) raise(file_, 0, "", "empty file: a header row is required");
    for (auto name : required) {
      auto i = reader_.column(name);
      if (!i) raise(file_, reader_.line(), std::string(name), "missing required column");
      columns_.emplace_back(std::string(name), *i);
    }
    for (auto name : optional)
      if (auto i = reader_.column(name)) columns_.emplace_back(std::string(name), *i);
  }

  bool next() {
    if (!reader_.next()) return false;
    if (reader_.truncated()) raise(file_, line(), "", "row cut short: the file ends inside it");
    if (reader_.fields().size() != reader_.header().size())
      raise(file_, line(), "",
            "row has " + std::to_string(reader_.fields().size()) + " fields, the header has " +
                std::to_string(reader_.header().size()) + " (quote text that contains commas)");
    return true;
  }

  const std::string& file() const { return file_; }
  std::size_t line() const { return reader_.line(); }

  // The trimmed text of a column; empty when an optional column is absent.
  std::string text(std::string_view column) const {
    for (const auto& [name, index] : columns_)
      if (name == column) return std::string(trim(reader_.fields()[index]));
    return {};
  }

  std::string key(std::string_view column) const {
    auto s = text(column);
    if (s.empty()) fail(column, "missing value");
    return s;
  }

  double number(std::string_view column, bound b = bound::any) const {
    auto s = text(column);
    if (s.empty()) fail(column, "missing value");
    auto v = parse_double(s);
    if (!v) fail(column, text::quoted(s) + " is not a finite number");
    check_bound(*v, b, file_, line(), column);
    return *v;
  }

  // A number the column may leave empty.
  double number_or(std::string_view column, double fallback, bound b) const {
    if (text(column).empty()) return fallback;
    return number(column, b);
  }

  double longitude(std::string_view column) const {
    double v = number(column);
    if (v < -180 || v > 180) fail(column, "longitude " + format_number(v) + " outside [-180, 180]");
    return v;
  }

  double latitude(std::string_view column) const {
    double v = number(column);
    if (v < -90 || v > 90) fail(column, "latitude " + format_number(v) + " outside [-90, 90]");
    return v;
  }

  // A whole number below limit.
  std::uint32_t whole(std::string_view column, std::uint64_t limit = 0xffffffffull) const {
    auto s = text(column);
    if (s.empty()) fail(column, "missing value");
    auto v = parse_int(s);
    if (!v) fail(column, text::quoted(s) + " is not a whole number");
    if (*v < 0) fail(column, "must not be negative, got " + s);
    if (static_cast<unsigned long long>(*v) >= limit)
      fail(column, "must be below " + std::to_string(limit) + ", got " + s);
    return static_cast<std::uint32_t>(*v);
  }

  [[noreturn]] void fail(std::string_view column, std::string message) const {
    raise(file_, line(), std::string(column), std::move(message));
  }

 private:
  std::string file_;
  csv_reader reader_;
  std::vector<std::pair<std::string, std::size_t>> columns_;
};

// ---------------------------------------------------------------------------------------------
// Lookups from the numbers and keys written in the files to dense ids.
struct references {
  std::unordered_map<std::string, district_id> districts;
  std::unordered_map<std::uint32_t, node_id> nodes;
  std::unordered_map<std::string, link_id> links;
  std::unordered_map<std::uint32_t, zone_id> zones;

  district_id district(const table& t, std::string_view column) const {
    auto k = t.key(column);
    auto it = districts.find(k);
    if (it == districts.end()) t.fail(column, "unknown district " + text::quoted(k));
    return it->second;
  }
  node_id node(const table& t, std::string_view column) const {
    auto n = t.whole(column);
    auto it = nodes.find(n);
    if (it == nodes.end()) t.fail(column, "unknown node " + std::to_string(n));
    return it->second;
  }
  zone_id zone(const table& t, std::string_view column) const {
    auto n = t.whole(column);
    auto it = zones.find(n);
    if (it == zones.end()) t.fail(column, "unknown zone " + std::to_string(n));
    return it->second;
  }
};

// ---------------------------------------------------------------------------------------------
// districts.geojson

std::size_t line_of_offset(const std::string& text, std::size_t offset) {
  offset = std::min(offset, text.size());
  return 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + offset, '\n'));
}

struct geojson_context {
  std::string file;
  // Where in the document we are, e.g. "features[3].geometry".
  std::string path;

  [[noreturn]] void fail(const std::string& field, std::string message) const {
    raise(file, 0, path.empty() ? field : path + "." + field, std::move(message));
  }
};

const json& member(const json& object, const char* name, const geojson_context& at) {
  if (!object.is_object()) at.fail(name, "expected an object around this member");
  auto it = object.find(name);
  if (it == object.end()) at.fail(name, "missing");
  return *it;
}

ring parse_ring(const json& j, const geojson_context& at, const std::string& field) {
  if (!j.is_array()) at.fail(field, "a ring must be an array of positions");
  if (j.size() < 4)
    at.fail(field, "a ring needs at least 4 positions, got " + std::to_string(j.size()));
  ring r;
  r.reserve(j.size());
  for (std::size_t i = 0; i < j.size(); ++i) {
    const json& p = j[i];
    if (!p.is_array() || p.size() < 2 || !p[0].is_number() || !p[1].is_number())
      at.fail(field + "[" + std::to_string(i) + "]", "a position must be [lon, lat]");
    lon_lat ll{p[0].get<double>(), p[1].get<double>()};
    if (ll.lon < -180 || ll.lon > 180 || ll.lat < -90 || ll.lat > 90)
      at.fail(field + "[" + std::to_string(i) + "]", "position outside WGS84 bounds");
    r.push_back(ll);
  }
  if (r.front().lon != r.back().lon || r.front().lat != r.back().lat)
    at.fail(field, "ring is not closed: its last position must repeat its first");
  return r;
}

polygon parse_polygon(const json& j, const geojson_context& at, const std::string& field) {
  if (!j.is_array() || j.empty()) at.fail(field, "a polygon must be a non-empty array of rings");
  polygon p;
  for (std::size_t i = 0; i < j.size(); ++i)
    p.rings.push_back(parse_ring(j[i], at, field + "[" + std::to_string(i) + "]"));
  return p;
}

std::vector<polygon> parse_geometry(const json& g, const geojson_context& at) {
  const json& type = member(g, "type", at);
  const json& coordinates = member(g, "coordinates", at);
  if (type == "Polygon") return {parse_polygon(coordinates, at, "coordinates")};
  if (type == "MultiPolygon") {
    if (!coordinates.is_array() || coordinates.empty())
      at.fail("coordinates", "a MultiPolygon needs a non-empty array of polygons");
    std::vector<polygon> out;
    for (std::size_t i = 0; i < coordinates.size(); ++i)
      out.push_back(parse_polygon(coordinates[i], at, "coordinates[" + std::to_string(i) + "]"));
    return out;
  }
  at.fail("type", "geometry must be Polygon or MultiPolygon, got " + type.dump());
}

double json_number(const json& j, const geojson_context& at, const char* name, bound b) {
  if (!j.is_number()) at.fail(name, "expected a number, got " + j.dump());
  double v = j.get<double>();
  if (b == bound::non_negative && v < 0) at.fail(name, "must not be negative, got " + j.dump());
  return v;
}

void load_districts(const fs::path& path, city& c, references& refs) {
  const std::string file = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) raise(file, 0, "", "cannot open file");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    raise(file, line_of_offset(text, e.byte == 0 ? 0 : e.byte - 1), "",
          "malformed JSON: " + std::string(e.what()));
  }

  geojson_context at{file, ""};
  if (member(doc, "type", at) != "FeatureCollection")
    at.fail("type", "expected \"FeatureCollection\"");
  const json& features = member(doc, "features", at);
  if (!features.is_array()) at.fail("features", "expected an array");

  for (std::size_t i = 0; i < features.size(); ++i) {
    geojson_context f{file, "features[" + std::to_string(i) + "]"};
    const json& feature = features[i];
    const json& props = member(feature, "properties", f);
    geojson_context p{file, f.path + ".properties"};
    const json& id = member(props, "id", p);
    if (!id.is_string() || id.get<std::string>().empty())
      p.fail("id", "expected a non-empty text key, got " + id.dump());

    district d;
    d.id = district_id{static_cast<std::uint32_t>(c.districts.size())};
    d.key = id.get<std::string>();
    if (refs.districts.count(d.key)) p.fail("id", "duplicate district " + text::quoted(d.key));
    if (auto it = props.find("name"); it != props.end() && !it->is_null()) {
      if (!it->is_string()) p.fail("name", "expected text, got " + it->dump());
      d.name = it->get<std::string>();
    }
    d.population =
        json_number(member(props, "population", p), p, "population", bound::non_negative);
    geojson_context g{file, f.path + ".geometry"};
    d.area = parse_geometry(member(feature, "geometry", f), g);
    // Land area is what statistics offices publish; the polygon may include water.
    if (auto it = props.find("area_km2"); it != props.end() && !it->is_null())
      d.area_km2 = json_number(*it, p, "area_km2", bound::non_negative);
    else
      d.area_km2 = area_km2(d.area);
    refs.districts.emplace(d.key, d.id);
    c.districts.push_back(std::move(d));
  }
}

// ---------------------------------------------------------------------------------------------
// CSV sections

void load_nodes(const fs::path& path, city& c, references& refs) {
  table t(path, {"id", "lon", "lat"});
  while (t.next()) {
    road_node n;
    n.id = node_id{static_cast<std::uint32_t>(c.nodes.size())};
    n.number = t.whole("id");
    n.position = {t.longitude("lon"), t.latitude("lat")};
    if (!refs.nodes.emplace(n.number, n.id).second)
      t.fail("id", "duplicate node " + std::to_string(n.number));
    c.nodes.push_back(n);
  }
}

void load_links(const fs::path& path, city& c, references& refs) {
  table t(path,
          {"id", "from", "to", "length_m", "capacity_veh_h", "free_speed_kmh", "lanes", "district"},
          {"name"});
  while (t.next()) {
    link l;
    l.id = link_id{static_cast<std::uint32_t>(c.links.size())};
    l.key = t.key("id");
    if (refs.links.count(l.key)) t.fail("id", "duplicate link " + text::quoted(l.key));
    l.from = refs.node(t, "from");
    l.to = refs.node(t, "to");
    if (l.from == l.to) t.fail("to", "a link cannot end at the node it starts from");
    l.length_m = t.number("length_m", bound::positive);
    l.capacity_veh_h = t.number("capacity_veh_h", bound::positive);
    l.free_speed_kmh = t.number("free_speed_kmh", bound::positive);
    l.lanes = t.whole("lanes");
    if (l.lanes == 0) t.fail("lanes", "must be at least 1");
    l.district = refs.district(t, "district");
    l.name = t.text("name");
    refs.links.emplace(l.key, l.id);
    c.links.push_back(std::move(l));
  }
}

void load_zones(const fs::path& path, city& c, references& refs) {
  table t(path, {"id", "district", "node"});
  while (t.next()) {
    zone z;
    z.id = zone_id{static_cast<std::uint32_t>(c.zones.size())};
    z.number = t.whole("id");
    if (refs.zones.count(z.number)) t.fail("id", "duplicate zone " + std::to_string(z.number));
    z.district = refs.district(t, "district");
    z.centroid = refs.node(t, "node");
    refs.zones.emplace(z.number, z.id);
    c.zones.push_back(z);
  }
}

void load_demand(const fs::path& path, city& c, const references& refs) {
  table t(path, {"from", "to", "trips_veh_h"});
  std::set<std::pair<std::uint32_t, std::uint32_t>> seen;
  while (t.next()) {
    od_demand d;
    d.from = refs.zone(t, "from");
    d.to = refs.zone(t, "to");
    d.trips_veh_h = t.number("trips_veh_h", bound::non_negative);
    if (!seen.emplace(d.from.value, d.to.value).second)
      t.fail("to", "duplicate origin-destination pair " + t.text("from") + " -> " + t.text("to"));
    c.demand.push_back(d);
  }
}

bool is_traffic(sensor_kind k) {
  return k == sensor_kind::traffic_speed || k == sensor_kind::traffic_flow ||
         k == sensor_kind::traffic_occupancy;
}

void load_sensors(const fs::path& path, city& c, const references& refs) {
  table t(path, {"id", "key", "kind", "district", "lon", "lat"},
          {"link", "site", "capacity", "cadence"});
  std::set<std::uint32_t> ids;
  std::set<std::string> keys;
  while (t.next()) {
    sensor s;
    s.id = sensor_id{t.whole("id", sensor_id_max)};
    if (!ids.insert(s.id.value).second)
      t.fail("id", "duplicate sensor id " + std::to_string(s.id.value));
    s.key = t.key("key");
    if (!keys.insert(s.key).second) t.fail("key", "duplicate sensor key " + text::quoted(s.key));
    auto kind_text = t.key("kind");
    auto kind = parse_sensor_kind(kind_text);
    if (!kind) t.fail("kind", "unknown sensor kind " + text::quoted(kind_text));
    s.kind = *kind;
    s.district = refs.district(t, "district");
    s.position = {t.longitude("lon"), t.latitude("lat")};
    auto link_key = t.text("link");
    if (!link_key.empty()) {
      auto it = refs.links.find(link_key);
      if (it == refs.links.end()) t.fail("link", "unknown link " + text::quoted(link_key));
      if (!is_traffic(s.kind))
        t.fail("link", "only traffic sensors sit on a link, this one is " + kind_text);
      s.link = it->second;
    } else if (is_traffic(s.kind)) {
      t.fail("link", "a " + kind_text + " sensor needs a link");
    }
    s.site = t.text("site");
    s.capacity = t.number_or("capacity", 0, bound::non_negative);
    if (s.kind == sensor_kind::visitors && s.capacity <= 0)
      t.fail("capacity", "a visitors sensor needs the capacity of its site (> 0)");
    if (auto cadence = t.text("cadence"); !cadence.empty()) {
      auto d = parse_duration_ms(cadence);
      if (!d) t.fail("cadence", d.error());
      if (*d <= 0 || *d > cadence_ms_max)
        t.fail("cadence", "must be above 0 and at most " + duration_text(cadence_ms_max) +
                              ", got " + text::quoted(cadence));
      s.cadence_ms = *d;
    }
    c.sensors.push_back(std::move(s));
  }
}

void load_sources(const fs::path& path, city& c, const references& refs) {
  table t(path,
          {"key", "district", "lon", "lat", "stack_height_m", "stack_diameter_m",
           "exit_velocity_m_s", "exit_temperature_k", "nox_g_s", "pm25_g_s", "co2_g_s"},
          {"name"});
  std::set<std::string> keys;
  while (t.next()) {
    emission_source s;
    s.key = t.key("key");
    if (!keys.insert(s.key).second) t.fail("key", "duplicate source " + text::quoted(s.key));
    s.name = t.text("name");
    s.district = refs.district(t, "district");
    s.position = {t.longitude("lon"), t.latitude("lat")};
    s.stack_height_m = t.number("stack_height_m", bound::non_negative);
    s.stack_diameter_m = t.number("stack_diameter_m", bound::positive);
    s.exit_velocity_m_s = t.number("exit_velocity_m_s", bound::non_negative);
    s.exit_temperature_k = t.number("exit_temperature_k", bound::positive);
    s.nox_g_s = t.number("nox_g_s", bound::non_negative);
    s.pm25_g_s = t.number("pm25_g_s", bound::non_negative);
    s.co2_g_s = t.number("co2_g_s", bound::non_negative);
    c.sources.push_back(std::move(s));
  }
}

// The vehicle mix: one row per (category, fuel, standard) with its share of the vehicle-km.
void load_fleet(const fs::path& path, city& c) {
  table t(path, {"category", "fuel", "standard", "share"});
  fleet_mix mix;
  std::set<std::tuple<vehicle_category, fuel, euro_standard>> seen;
  while (t.next()) {
    fleet_share s;
    auto category = t.key("category");
    auto parsed_category = parse_vehicle_category(category);
    if (!parsed_category)
      t.fail("category", "unknown vehicle category " + text::quoted(category) +
                             " (car|taxi|light_goods|heavy_goods|bus|motorcycle|moped)");
    s.category = *parsed_category;
    auto fuel_text = t.key("fuel");
    auto parsed_fuel = parse_fuel(fuel_text);
    if (!parsed_fuel)
      t.fail("fuel", "unknown fuel " + text::quoted(fuel_text) +
                         " (petrol|diesel|lpg|cng|hybrid|electric)");
    s.f = *parsed_fuel;
    auto standard = t.key("standard");
    auto parsed_standard = parse_euro_standard(standard);
    if (!parsed_standard)
      t.fail("standard",
             "unknown emission standard " + text::quoted(standard) + " (pre_euro|euro_1..euro_6)");
    s.standard = *parsed_standard;
    s.share = t.number("share", bound::non_negative);
    if (s.share > 1) t.fail("share", "a share is a fraction of 1, got " + t.text("share"));
    if (!seen.emplace(s.category, s.f, s.standard).second)
      t.fail("standard", "duplicate vehicle kind " + category + " " + fuel_text + " " + standard);
    mix.shares.push_back(s);
  }
  if (mix.shares.empty()) raise(t.file(), 0, "", "a fleet file needs at least one row");
  if (auto why = validate(mix)) raise(t.file(), 0, "share", *why);
  c.fleet = std::move(mix);
}

// ---------------------------------------------------------------------------------------------
// city.yaml

constexpr std::array<rule_window, 4> rule_windows{rule_window::latest, rule_window::one_minute,
                                                  rule_window::fifteen_minutes,
                                                  rule_window::one_hour};
constexpr std::array<rule_aggregate, 3> rule_aggregates{rule_aggregate::mean, rule_aggregate::max,
                                                        rule_aggregate::min};
constexpr std::array<severity, 3> severities{severity::info, severity::warning, severity::critical};

std::array<sensor_kind, sensor_kind_count> all_sensor_kinds() {
  std::array<sensor_kind, sensor_kind_count> out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<sensor_kind>(i);
  return out;
}

threshold_rule read_rule(const yaml_reader& r, const references& refs) {
  r.allow_keys({"id", "kind", "window", "aggregate", "above", "below", "clear_at", "severity",
                "district", "message"});
  threshold_rule rule;
  rule.key = r.required("id").text();
  rule.kind = r.required("kind").choice_of<sensor_kind>("sensor kind", all_sensor_kinds());
  rule.window = r.required("window").choice_of<rule_window>("window", rule_windows);
  if (auto a = r["aggregate"])
    rule.aggregate = a.choice_of<rule_aggregate>("aggregate", rule_aggregates);

  const auto above = r["above"], below = r["below"];
  if (above.present() == below.present())
    r["above"].fail("a rule needs exactly one of 'above' and 'below'");
  rule.above = above.present();
  rule.threshold = (rule.above ? above : below).number();
  if (auto clear_at = r["clear_at"]) {
    rule.clear_at = clear_at.number();
    if (rule.above ? *rule.clear_at > rule.threshold : *rule.clear_at < rule.threshold)
      clear_at.fail(std::string("must be ") +
                    (rule.above ? "at or below 'above'" : "at or above 'below'") +
                    " for the alert to clear");
  }
  rule.level = r.required("severity").choice_of<severity>("severity", severities);

  if (auto d = r["district"]) {
    auto key = d.text();
    auto it = refs.districts.find(key);
    if (it == refs.districts.end()) d.fail("unknown district " + text::quoted(key));
    rule.district = it->second;
  }
  if (auto m = r["message"]) rule.message = m.scalar();
  return rule;
}

// `cadence: {pm25: 1h, traffic_speed: 5m}`: the kinds named get their own cadence, the others
// keep the defaults.
void load_cadences(const yaml_reader& map, city& c) {
  map.expect_map();
  for (const auto& e : map.entries()) {
    auto kind = e.key.choice_of<sensor_kind>("sensor kind", all_sensor_kinds());
    c.cadence_ms[static_cast<std::size_t>(kind)] = e.value.duration(cadence_ms_max);
  }
}

void load_rules(const yaml_reader& list, city& c, const references& refs) {
  std::set<std::string> keys;
  for (const auto& r : list.items()) {
    auto rule = read_rule(r.expect_map(), refs);
    if (!keys.insert(rule.key).second) r["id"].fail("duplicate rule " + text::quoted(rule.key));
    c.rules.push_back(std::move(rule));
  }
}

// The data file a section names, relative to the bundle folder.
std::optional<fs::path> section_file(const yaml_reader& field, const fs::path& dir) {
  if (!field) return std::nullopt;
  return dir / field.text();
}

// The root of city.yaml: a map whose citytwin_bundle is the format version this build reads.
yaml_reader bundle_root(const fs::path& yaml_path) {
  auto root = yaml_reader::load_file(yaml_path);
  if (!root.is_map()) raise(root.file(), 1, "", "expected a map of bundle settings");
  auto version = root["citytwin_bundle"];
  if (!version) raise(root.file(), 1, "citytwin_bundle", "missing: this is not a city bundle");
  if (!version.is_scalar() || version.scalar() != "1")
    version.fail("unsupported bundle format version " +
                 text::quoted(version.is_scalar() ? version.scalar() : "?") +
                 " (this build reads version 1)");
  root.allow_keys({"citytwin_bundle", "name", "districts", "network", "zones", "demand", "sensors",
                   "sources", "fleet", "cadence", "rules"});
  return root;
}

city load(const fs::path& dir) {
  const auto root = bundle_root(dir / "city.yaml");
  city c;
  references refs;
  c.name = root.required("name").text();

  if (auto p = section_file(root["districts"], dir)) load_districts(*p, c, refs);
  if (auto network = root["network"]) {
    network.allow_keys({"nodes", "links"});
    if (auto p = section_file(network["nodes"], dir)) load_nodes(*p, c, refs);
    if (auto p = section_file(network["links"], dir)) load_links(*p, c, refs);
  }
  if (auto p = section_file(root["zones"], dir)) load_zones(*p, c, refs);
  if (auto p = section_file(root["demand"], dir)) load_demand(*p, c, refs);
  if (auto cadence = root["cadence"]) load_cadences(cadence, c);
  if (auto p = section_file(root["sensors"], dir)) load_sensors(*p, c, refs);
  if (auto p = section_file(root["sources"], dir)) load_sources(*p, c, refs);
  // Without a fleet file the city keeps default_fleet_mix().
  if (auto p = section_file(root["fleet"], dir)) load_fleet(*p, c);
  if (auto rules = root["rules"]) load_rules(rules, c, refs);

  c.index();
  return c;
}

}  // namespace

expected<city, load_error> load_city(const std::filesystem::path& dir) {
  try {
    return load(dir);
  } catch (const load_failure& f) {
    return unexpected{f.error};
  }
}

}  // namespace twin
