#include "twin/city/bundle_writer.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <system_error>

#include "twin/base/text.hpp"
#include "twin/base/time_text.hpp"

namespace twin {

namespace {

namespace fs = std::filesystem;

// Writing is a boundary like loading: an error unwinds as this and write_city returns it.
struct write_failure {
  load_error error;
};

std::string number(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  TWIN_CHECK(ec == std::errc{});
  return std::string(buf, end);
}

// CSV rows are one line each, so text must not hold a line break.
std::string csv_field(std::string_view s, const std::string& file, std::string_view column) {
  if (s.find_first_of("\r\n") != std::string_view::npos)
    throw write_failure{{file, 0, std::string(column), "text with a line break cannot be written"}};
  bool quote = s.find_first_of(",\"") != std::string_view::npos ||
               (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '#' ||
                               s.back() == ' ' || s.back() == '\t'));
  if (!quote) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

class file_out {
 public:
  explicit file_out(const fs::path& path) : file_(path.string()), out_(path, std::ios::binary) {
    if (!out_) throw write_failure{{file_, 0, "", "cannot create file"}};
  }
  file_out& operator<<(std::string_view s) {
    out_ << s;
    return *this;
  }
  const std::string& file() const { return file_; }
  void close() {
    out_.close();
    if (!out_) throw write_failure{{file_, 0, "", "write failed"}};
  }

 private:
  std::string file_;
  std::ofstream out_;
};

void write_districts(const city& c, const fs::path& path) {
  using json = nlohmann::json;
  json features = json::array();
  for (const auto& d : c.districts) {
    json multipolygon = json::array();
    for (const auto& p : d.area) {
      json rings = json::array();
      for (const auto& r : p.rings) {
        json positions = json::array();
        for (const auto& ll : r) positions.push_back({ll.lon, ll.lat});
        rings.push_back(std::move(positions));
      }
      multipolygon.push_back(std::move(rings));
    }
    json feature = {
        {"type", "Feature"},
        {"properties",
         {{"id", d.key}, {"name", d.name}, {"population", d.population}, {"area_km2", d.area_km2}}},
        {"geometry", {{"type", "MultiPolygon"}, {"coordinates", multipolygon}}}};
    features.push_back(std::move(feature));
  }
  file_out out(path);
  // One feature per line keeps diffs readable without bloating the file.
  out << "{\"type\":\"FeatureCollection\",\"features\":[\n";
  for (std::size_t i = 0; i < features.size(); ++i)
    out << features[i].dump() << (i + 1 < features.size() ? ",\n" : "\n");
  out << "]}\n";
  out.close();
}

void write_nodes(const city& c, const fs::path& path) {
  file_out out(path);
  out << "id,lon,lat\n";
  for (const auto& n : c.nodes)
    out << std::to_string(n.number) << "," << number(n.position.lon) << ","
        << number(n.position.lat) << "\n";
  out.close();
}

void write_links(const city& c, const fs::path& path) {
  file_out out(path);
  out << "id,from,to,length_m,capacity_veh_h,free_speed_kmh,lanes,district,name\n";
  for (const auto& l : c.links) {
    TWIN_REQUIRE_OP(l.from.value, <, c.nodes.size());
    TWIN_REQUIRE_OP(l.to.value, <, c.nodes.size());
    TWIN_REQUIRE_OP(l.district.value, <, c.districts.size());
    out << csv_field(l.key, out.file(), "id") << "," << std::to_string(c.nodes[l.from.value].number)
        << "," << std::to_string(c.nodes[l.to.value].number) << "," << number(l.length_m) << ","
        << number(l.capacity_veh_h) << "," << number(l.free_speed_kmh) << ","
        << std::to_string(l.lanes) << ","
        << csv_field(c.districts[l.district.value].key, out.file(), "district") << ","
        << csv_field(l.name, out.file(), "name") << "\n";
  }
  out.close();
}

void write_zones(const city& c, const fs::path& path) {
  file_out out(path);
  out << "id,district,node\n";
  for (const auto& z : c.zones)
    out << std::to_string(z.number) << ","
        << csv_field(c.districts.at(z.district.value).key, out.file(), "district") << ","
        << std::to_string(c.nodes.at(z.centroid.value).number) << "\n";
  out.close();
}

void write_demand(const city& c, const fs::path& path) {
  file_out out(path);
  out << "from,to,trips_veh_h\n";
  for (const auto& d : c.demand)
    out << std::to_string(c.zones.at(d.from.value).number) << ","
        << std::to_string(c.zones.at(d.to.value).number) << "," << number(d.trips_veh_h) << "\n";
  out.close();
}

void write_sensors(const city& c, const fs::path& path) {
  file_out out(path);
  // The cadence column only when a sensor has its own, so that other bundles stay as they were.
  const bool cadences =
      std::any_of(c.sensors.begin(), c.sensors.end(), [](const auto& s) { return s.cadence_ms; });
  out << "id,key,kind,district,lon,lat,link,site,capacity" << (cadences ? ",cadence" : "") << "\n";
  for (const auto& s : c.sensors) {
    out << std::to_string(s.id.value) << "," << csv_field(s.key, out.file(), "key") << ","
        << to_string(s.kind) << ","
        << csv_field(c.districts.at(s.district.value).key, out.file(), "district") << ","
        << number(s.position.lon) << "," << number(s.position.lat) << ","
        << (s.link ? csv_field(c.links.at(s.link->value).key, out.file(), "link") : "") << ","
        << csv_field(s.site, out.file(), "site") << "," << number(s.capacity);
    if (cadences) out << "," << (s.cadence_ms ? duration_text(*s.cadence_ms) : "");
    out << "\n";
  }
  out.close();
}

void write_sources(const city& c, const fs::path& path) {
  file_out out(path);
  out << "key,name,district,lon,lat,stack_height_m,stack_diameter_m,exit_velocity_m_s,"
         "exit_temperature_k,nox_g_s,pm25_g_s,co2_g_s\n";
  for (const auto& s : c.sources)
    out << csv_field(s.key, out.file(), "key") << "," << csv_field(s.name, out.file(), "name")
        << "," << csv_field(c.districts.at(s.district.value).key, out.file(), "district") << ","
        << number(s.position.lon) << "," << number(s.position.lat) << ","
        << number(s.stack_height_m) << "," << number(s.stack_diameter_m) << ","
        << number(s.exit_velocity_m_s) << "," << number(s.exit_temperature_k) << ","
        << number(s.nox_g_s) << "," << number(s.pm25_g_s) << "," << number(s.co2_g_s) << "\n";
  out.close();
}

void write_fleet(const city& c, const fs::path& path) {
  file_out out(path);
  out << "category,fuel,standard,share\n";
  for (const auto& s : c.fleet.shares)
    out << to_string(s.category) << "," << to_string(s.f) << "," << to_string(s.standard) << ","
        << number(s.share) << "\n";
  out.close();
}

void write_manifest(const city& c, const fs::path& path) {
  file_out out(path);
  out << "# citytwin city bundle; the format is described in examples/macau/README.md.\n"
      << "citytwin_bundle: 1\n"
      << "name: " << text::yaml_quoted(c.name) << "\n"
      << "districts: districts.geojson\n"
      << "network: { nodes: nodes.csv, links: links.csv }\n"
      << "zones: zones.csv\n"
      << "demand: demand.csv\n"
      << "sensors: sensors.csv\n"
      << "sources: sources.csv\n"
      << "fleet: fleet.csv\n";
  const auto defaults = default_cadences_ms();
  if (c.cadence_ms != defaults) {
    out << "cadence:\n";
    for (std::size_t k = 0; k < sensor_kind_count; ++k)
      if (c.cadence_ms[k] != defaults[k])
        out << "  " << to_string(static_cast<sensor_kind>(k)) << ": "
            << duration_text(c.cadence_ms[k]) << "\n";
  }
  if (c.rules.empty()) {
    out << "rules: []\n";
  } else {
    out << "rules:\n";
    for (const auto& r : c.rules) {
      out << "  - id: " << text::yaml_quoted(r.key) << "\n"
          << "    kind: " << to_string(r.kind) << "\n"
          << "    window: " << text::yaml_quoted(to_string(r.window)) << "\n"
          << "    aggregate: " << to_string(r.aggregate) << "\n"
          << "    " << (r.above ? "above: " : "below: ") << number(r.threshold) << "\n"
          << "    severity: " << to_string(r.level) << "\n";
      if (r.clear_at) out << "    clear_at: " << number(*r.clear_at) << "\n";
      if (r.district)
        out << "    district: " << text::yaml_quoted(c.districts.at(r.district->value).key) << "\n";
      out << "    message: " << text::yaml_quoted(r.message) << "\n";
    }
  }
  out.close();
}

}  // namespace

write_result write_city(const city& c, const std::filesystem::path& dir) {
  try {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
      return unexpected{load_error{dir.string(), 0, "", "cannot create folder: " + ec.message()}};
    write_districts(c, dir / "districts.geojson");
    write_nodes(c, dir / "nodes.csv");
    write_links(c, dir / "links.csv");
    write_zones(c, dir / "zones.csv");
    write_demand(c, dir / "demand.csv");
    write_sensors(c, dir / "sensors.csv");
    write_sources(c, dir / "sources.csv");
    write_fleet(c, dir / "fleet.csv");
    // The manifest goes last so that a bundle cut short by an error does not look complete.
    write_manifest(c, dir / "city.yaml");
  } catch (const write_failure& f) {
    return unexpected{f.error};
  }
  return std::monostate{};
}

}  // namespace twin
