#include "twin/scenario/spec.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <optional>
#include <unordered_map>

#include "twin/base/compass.hpp"
#include "twin/base/csv.hpp"
#include "twin/base/text.hpp"
#include "twin/base/yaml_reader.hpp"
#include "twin/city/geo.hpp"
#include "twin/env/weather.hpp"

namespace twin {

std::string_view to_string(perturbation_kind k) {
  switch (k) {
    case perturbation_kind::close:
      return "close";
    case perturbation_kind::capacity:
      return "capacity";
    case perturbation_kind::speed:
      return "speed";
    case perturbation_kind::demand:
      return "demand";
    case perturbation_kind::add_link:
      return "add_link";
    case perturbation_kind::toll:
      return "toll";
  }
  return "?";
}

namespace {

namespace fs = std::filesystem;

// The scenario's names must be usable as file names.
bool is_file_name(std::string_view name) {
  return std::all_of(name.begin(), name.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.';
  });
}

// A name from a closed vocabulary; `parse` gives nothing for a name it does not know, and the
// message then lists the known ones.
template <class Parse>
auto known_name(const yaml_reader& n, Parse parse, std::string_view what, std::string_view known) {
  auto v = parse(n.text());
  if (!v)
    n.fail("unknown " + std::string(what) + " " + text::quoted(n.scalar()) +
           " (known: " + std::string(known) + ")");
  return *v;
}

// Looks the city's nodes, zones, districts and links up by the names a scenario file gives them.
class spec_reader {
 public:
  explicit spec_reader(const city& c) : city_(c) {
    for (const auto& n : c.nodes) node_by_number_.emplace(n.number, n.id);
    for (const auto& z : c.zones) zone_by_number_.emplace(z.number, z.id);
    for (const auto& l : c.links) link_by_key_.emplace(l.key, l.id);
  }

  const city& base_city() const { return city_; }

  node_id node(const yaml_reader& n) const {
    auto number = whole_number(n);
    auto it = node_by_number_.find(number);
    if (it == node_by_number_.end())
      n.fail("unknown node " + std::to_string(number) + " in city " + text::quoted(city_.name));
    return it->second;
  }

  zone_id zone(const yaml_reader& n) const {
    auto number = whole_number(n);
    auto it = zone_by_number_.find(number);
    if (it == zone_by_number_.end())
      n.fail("unknown zone " + std::to_string(number) + " in city " + text::quoted(city_.name));
    return it->second;
  }

  district_id district(const yaml_reader& n) const {
    auto key = n.text();
    auto d = city_.find_district(key);
    if (!d)
      n.fail("unknown district " + text::quoted(key) + " in city " + text::quoted(city_.name));
    return *d;
  }

  // `links: [keys]`, `bridge: NAME` or `district: KEY`: exactly one of them.
  void select_links(const yaml_reader& body, perturbation& p) const {
    int given = 0;
    for (const char* k : {"links", "bridge", "district"}) given += body[k] ? 1 : 0;
    if (given != 1) body.fail("name the links with exactly one of 'links', 'bridge' or 'district'");
    if (auto keys = body["links"]) {
      std::string listed;
      for (const auto& k : keys.one_or_many()) {
        auto key = k.text();
        auto it = link_by_key_.find(key);
        if (it == link_by_key_.end())
          k.fail("unknown link " + text::quoted(key) + " in city " + text::quoted(city_.name));
        p.links.push_back(it->second);
        listed += (listed.empty() ? "" : ", ") + key;
      }
      p.target = "links " + listed;
    } else if (auto bridge = body["bridge"]) {
      auto name = bridge.text();
      for (const auto& l : city_.links)
        if (l.name == name) p.links.push_back(l.id);
      if (p.links.empty())
        bridge.fail("no link is named " + text::quoted(name) + " in city " +
                    text::quoted(city_.name));
      p.target = "bridge " + text::quoted(name);
    } else {
      auto d = district(body["district"]);
      p.links = city_.links_of(d);
      p.target = "district " + city_.districts[d.value].key;
    }
    std::sort(p.links.begin(), p.links.end());
    p.links.erase(std::unique(p.links.begin(), p.links.end()), p.links.end());
  }

  // One traffic perturbation `kind: body`; `new_keys` are the links the variant has added so far.
  perturbation read_perturbation(const yaml_entry& item, const scenario_spec& spec,
                                 std::vector<std::string>& new_keys) const {
    const auto& kind = item.name;
    const yaml_reader& body = item.value;
    body.expect_map();
    perturbation p;
    p.line = item.key.line();
    if (kind == "close") {
      p.kind = perturbation_kind::close;
      body.allow_keys({"links", "bridge", "district"});
      select_links(body, p);
    } else if (kind == "capacity") {
      p.kind = perturbation_kind::capacity;
      body.allow_keys({"links", "bridge", "district", "factor"});
      select_links(body, p);
      p.factor = body.required("factor").non_negative();
    } else if (kind == "speed") {
      read_speed(body, p);
    } else if (kind == "demand") {
      read_demand(body, p);
    } else if (kind == "add_link") {
      read_add_link(body, p, new_keys);
    } else if (kind == "toll") {
      p.kind = perturbation_kind::toll;
      body.allow_keys({"links", "bridge", "district", "toll"});
      select_links(body, p);
      p.toll = body.required("toll").non_negative();
      if (!(spec.value_of_time_per_h > 0))
        item.key.fail(
            "a toll needs 'value_of_time_per_h' at the top of the scenario, to turn money "
            "into minutes");
    } else {
      item.key.fail("unknown perturbation " + text::quoted(kind) +
                    " (known: close, capacity, speed, demand, add_link, toll, weather, "
                    "background, ban, electrify, low_emission_zone, add_source, remove_source, "
                    "source)");
    }
    return p;
  }

 private:
  static std::uint32_t whole_number(const yaml_reader& n) {
    return static_cast<std::uint32_t>(n.whole(0, std::numeric_limits<std::uint32_t>::max()));
  }

  void read_speed(const yaml_reader& body, perturbation& p) const {
    p.kind = perturbation_kind::speed;
    body.allow_keys({"links", "bridge", "district", "factor", "free_speed_kmh"});
    select_links(body, p);
    if ((body["factor"] ? 1 : 0) + (body["free_speed_kmh"] ? 1 : 0) != 1)
      body.fail("give exactly one of 'factor' or 'free_speed_kmh'");
    if (auto factor = body["factor"])
      p.factor = factor.positive();
    else
      p.free_speed_kmh = body["free_speed_kmh"].positive();
  }

  void read_demand(const yaml_reader& body, perturbation& p) const {
    p.kind = perturbation_kind::demand;
    body.allow_keys({"factor", "from_zone", "to_zone", "from_district", "to_district"});
    p.factor = body.required("factor").non_negative();
    std::string target;
    auto describe = [&](const char* key, const yaml_reader& n) {
      target += (target.empty() ? "" : ", ") + std::string(key) + " " +
                (n.is_scalar() ? n.scalar() : n.dump());
    };
    if (auto n = body["from_zone"]) {
      for (const auto& e : n.one_or_many()) p.from_zones.push_back(zone(e));
      describe("from_zone", n);
    }
    if (auto n = body["to_zone"]) {
      for (const auto& e : n.one_or_many()) p.to_zones.push_back(zone(e));
      describe("to_zone", n);
    }
    if (auto n = body["from_district"]) {
      for (const auto& e : n.one_or_many()) p.from_districts.push_back(district(e));
      describe("from_district", n);
    }
    if (auto n = body["to_district"]) {
      for (const auto& e : n.one_or_many()) p.to_districts.push_back(district(e));
      describe("to_district", n);
    }
    p.target = target.empty() ? "all trips" : "trips " + target;
  }

  void read_add_link(const yaml_reader& body, perturbation& p,
                     std::vector<std::string>& new_keys) const {
    p.kind = perturbation_kind::add_link;
    body.allow_keys({"from", "to", "capacity_veh_h", "free_speed_kmh", "lanes", "length_m", "name",
                     "key", "district"});
    auto& a = p.added;
    a.from = node(body.required("from"));
    a.to = node(body.required("to"));
    if (a.from == a.to) body["to"].fail("a link needs two different nodes");
    a.capacity_veh_h = body.required("capacity_veh_h").positive();
    a.free_speed_kmh = body.required("free_speed_kmh").positive();
    a.lanes = body["lanes"] ? static_cast<std::uint32_t>(body["lanes"].whole(1, 64)) : 1;
    const auto from_pos = city_.nodes[a.from.value].position;
    const auto to_pos = city_.nodes[a.to.value].position;
    a.length_m = body["length_m"] ? body["length_m"].positive() : haversine_m(from_pos, to_pos);
    if (!(a.length_m > 0)) body["length_m"].fail("the nodes coincide: give length_m");
    const auto from_number = std::to_string(city_.nodes[a.from.value].number);
    const auto to_number = std::to_string(city_.nodes[a.to.value].number);
    a.key = body["key"] ? body["key"].text() : "new-" + from_number + "-" + to_number;
    if (link_by_key_.count(a.key) ||
        std::find(new_keys.begin(), new_keys.end(), a.key) != new_keys.end())
      body["key"].fail("link key " + text::quoted(a.key) + " is already taken");
    new_keys.push_back(a.key);
    a.name = body["name"] ? body["name"].text() : "new link";
    a.district = body["district"] ? district(body["district"])
                                  : district_at(a.from, midpoint(from_pos, to_pos));
    p.target = "link " + a.key + " (" + from_number + " -> " + to_number + ")";
  }

  // The district whose polygon holds `at`; else that of a link at the node; else the first.
  district_id district_at(node_id n, lon_lat at) const {
    for (const auto& d : city_.districts)
      if (contains(d.area, at)) return d.id;
    for (const auto& l : city_.links)
      if (l.from == n || l.to == n) return l.district;
    return district_id{0};
  }

  const city& city_;
  std::unordered_map<std::uint32_t, node_id> node_by_number_;
  std::unordered_map<std::uint32_t, zone_id> zone_by_number_;
  std::unordered_map<std::string, link_id> link_by_key_;
};

// ---------------------------------------------------------------------------------------------
// The environment: the `environment:` section and the environmental perturbations.

bool is_environmental(std::string_view kind) {
  return kind == "weather" || kind == "background" || kind == "ban" || kind == "electrify" ||
         kind == "low_emission_zone" || kind == "add_source" || kind == "remove_source" ||
         kind == "source";
}

// Degrees clockwise from north, or a 16-point compass name; where the wind comes from.
double wind_from(const yaml_reader& n) {
  if (!n.is_scalar()) n.fail("expected degrees or a compass point such as S or SSW");
  const auto text = n.scalar();
  if (auto v = parse_double(text)) {
    if (*v < 0 || *v > 360) n.fail("must be in [0, 360] degrees, got " + text);
    return *v == 360 ? 0 : *v;
  }
  if (auto deg = compass_deg(text)) return *deg;
  n.fail("unknown compass point " + text::quoted(text) + " (give degrees, or one of " +
         std::string(compass_points_text) + ")");
}

// The weather keys both the settings and a variant's `weather` change take.
env::weather_change weather_fields(const yaml_reader& body) {
  env::weather_change c;
  if (auto n = body["wind_from"]) c.wind_from_deg = wind_from(n);
  if (auto n = body["wind_speed_m_s"]) c.wind_speed_m_s = n.positive();
  if (auto n = body["stability"])
    c.stability_class = known_name(n, env::parse_stability, "stability class", "A to F");
  if (auto n = body["mixing_height_m"]) c.mixing_height_m = n.positive();
  if (auto n = body["air_temperature_c"]) {
    const double t = n.number();
    if (t < -60 || t > 60) n.fail("must be in [-60, 60] degrees C, got " + n.scalar());
    c.air_temperature_k = t + 273.15;
  }
  return c;
}

void read_grid(const yaml_reader& g, env::environment_settings& e) {
  g.allow_keys({"resolution_m", "margin_m"});
  if (auto n = g["resolution_m"]) e.grid.resolution_m = n.positive();
  if (auto n = g["margin_m"]) e.grid.margin_m = n.non_negative();
}

// The station report of `environment.weather`; the stability class is given, derived from the
// clouds and the time, or kept.
void read_weather(const yaml_reader& w, const env::local_frame& frame,
                  env::environment_settings& e) {
  w.allow_keys({"wind_from", "wind_speed_m_s", "stability", "cloud_oktas", "cloud_ceiling_m",
                "time", "mixing_height_m", "air_temperature_c"});
  const auto c0 = weather_fields(w);
  env::station_report report;
  if (c0.wind_speed_m_s) report.wind_speed_m_s = *c0.wind_speed_m_s;
  if (c0.wind_from_deg) report.wind_from_deg = *c0.wind_from_deg;
  if (c0.air_temperature_k) report.air_temperature_k = *c0.air_temperature_k;
  report.mixing_height_m = c0.mixing_height_m;
  report.stability_class = c0.stability_class;
  time_ms when = 0;
  if (w["cloud_oktas"] || w["time"] || w["cloud_ceiling_m"]) {
    if (w["stability"])
      w["stability"].fail(
          "give either 'stability' or 'cloud_oktas' and 'time' (to derive it), not both");
    if (!w["cloud_oktas"] || !w["time"])
      w.fail("deriving the stability class needs both 'cloud_oktas' and 'time'");
    report.clouds.cloud_oktas = static_cast<int>(w["cloud_oktas"].whole(0, 8));
    if (auto n = w["cloud_ceiling_m"]) report.clouds.cloud_ceiling_m = n.positive();
    when = w["time"].time();
  } else if (!c0.stability_class) {
    report.stability_class = e.w.stability_class;
  }
  e.w = env::make_weather(report, when, frame.origin());
  e.mixing_height_given = c0.mixing_height_m.has_value();
  e.wind_speed_given = c0.wind_speed_m_s.has_value();
  e.wind_from_given = c0.wind_from_deg.has_value();
  e.station = report;
  e.station_time = when;
}

void read_background(const spec_reader& r, const yaml_reader& b, env::environment_settings& e) {
  b.allow_keys({"pm25", "no2", "districts"});
  if (auto n = b["pm25"]) e.background.pm25_ug_m3 = n.non_negative();
  if (auto n = b["no2"]) e.background.no2_ug_m3 = n.non_negative();
  e.background_set = {static_cast<bool>(b["pm25"]), static_cast<bool>(b["no2"])};
  auto ds = b["districts"];
  if (!ds) return;
  for (const auto& [name, key, value] : ds.entries()) {
    const auto d = r.district(key);
    if (!value.is_map()) value.fail("expected a map with pm25 and/or no2");
    value.allow_keys({"pm25", "no2"});
    env::air_background one = e.background;
    if (auto n = value["pm25"]) one.pm25_ug_m3 = n.non_negative();
    if (auto n = value["no2"]) one.no2_ug_m3 = n.non_negative();
    e.district_background[d.value] = one;
    e.district_background_set[d.value] = {static_cast<bool>(value["pm25"]),
                                          static_cast<bool>(value["no2"])};
  }
}

void read_guidelines(const yaml_reader& g, env::environment_settings& e) {
  g.allow_keys({"pm25", "no2", "annual_pm25", "annual_no2"});
  if (auto n = g["pm25"]) e.short_term.pm25_ug_m3 = n.positive();
  if (auto n = g["no2"]) e.short_term.no2_ug_m3 = n.positive();
  if (auto n = g["annual_pm25"]) e.annual.pm25_ug_m3 = n.positive();
  if (auto n = g["annual_no2"]) e.annual.no2_ug_m3 = n.positive();
}

void read_noise_periods(const yaml_reader& n, env::environment_settings& e) {
  n.allow_keys({"day", "evening", "night"});
  if (auto v = n["day"]) e.noise_periods.day = v.positive();
  if (auto v = n["evening"]) e.noise_periods.evening = v.positive();
  if (auto v = n["night"]) e.noise_periods.night = v.positive();
}

void read_environment(const spec_reader& r, const yaml_reader& root, scenario_spec& s) {
  const city& c = r.base_city();
  auto& e = s.environment;
  e.district_background.assign(c.districts.size(), std::nullopt);
  e.district_background_set.assign(c.districts.size(), {});
  auto env = root["environment"];
  if (!env) return;
  e.enabled = true;
  env.allow_keys({"weather", "background", "grid", "sigmas", "no2_from_nox", "receptor_height_m",
                  "guidelines", "noise_periods"});
  if (auto g = env["grid"]) read_grid(g, e);
  auto planned = env::plan_receptor_grid(c, e.grid);
  if (!planned) env["grid"].fail(planned.error());
  if (auto w = env["weather"])
    read_weather(w, planned->frame, e);
  else
    e.w.mixing_height_m = env::default_mixing_height_m(e.w.stability_class, e.w.wind_speed_m_s);
  if (auto b = env["background"]) read_background(r, b, e);
  if (auto n = env["sigmas"])
    e.scheme = known_name(n, env::parse_sigma_scheme, "sigmas", "pg, briggs-urban, briggs-rural");
  if (auto n = env["no2_from_nox"]) e.no2_from_nox = n.number_in(0, 1);
  if (auto n = env["receptor_height_m"]) e.receptor_height_m = n.non_negative();
  if (auto g = env["guidelines"]) read_guidelines(g, e);
  if (auto n = env["noise_periods"]) read_noise_periods(n, e);
}

std::vector<district_id> districts_of(const spec_reader& r, const yaml_reader& n,
                                      std::string& target) {
  std::vector<district_id> out;
  std::string listed;
  for (const auto& e : n.one_or_many()) {
    out.push_back(r.district(e));
    listed += (listed.empty() ? "" : ", ") + e.scalar();
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  target += " in " + listed;
  return out;
}

vehicle_category category_at(const yaml_reader& n) {
  return known_name(n, parse_vehicle_category, "vehicle category",
                    "car, taxi, light_goods, heavy_goods, bus, motorcycle, moped");
}

euro_standard standard_at(const yaml_reader& n) {
  return known_name(n, parse_euro_standard, "emission standard", "pre_euro, euro_1 ... euro_6");
}

std::optional<env::lez_replacement> parse_replacement(std::string_view rule) {
  if (rule == "stay_out") return env::lez_replacement::stay_out;
  if (rule == "upgrade") return env::lez_replacement::upgrade;
  return std::nullopt;
}

void read_weather_change(const yaml_reader& body, env::env_perturbation& p) {
  p.kind = env::env_change_kind::weather;
  body.allow_keys(
      {"wind_from", "wind_speed_m_s", "stability", "mixing_height_m", "air_temperature_c"});
  if (body.size() == 0) body.fail("change at least one weather field");
  p.weather = weather_fields(body);
  p.target = "weather";
}

void read_background_change(const spec_reader& r, const yaml_reader& body,
                            env::env_perturbation& p) {
  p.kind = env::env_change_kind::background;
  body.allow_keys({"pm25", "no2", "districts"});
  if (!body["pm25"] && !body["no2"]) body.fail("give 'pm25' and/or 'no2' (ug/m3)");
  if (auto n = body["pm25"]) p.pm25_ug_m3 = n.non_negative();
  if (auto n = body["no2"]) p.no2_ug_m3 = n.non_negative();
  p.target = "background";
  if (auto n = body["districts"]) p.districts = districts_of(r, n, p.target);
}

void read_ban(const spec_reader& r, const yaml_reader& body, env::env_perturbation& p) {
  p.kind = env::env_change_kind::ban;
  body.allow_keys({"category", "fuel", "standard_below", "districts"});
  std::string what;
  if (auto n = body["category"]) {
    const auto v = category_at(n);
    p.vehicles.category = v;
    what += std::string(to_string(v));
  }
  if (auto n = body["fuel"]) {
    const auto v = known_name(n, parse_fuel, "fuel", "petrol, diesel, lpg, cng, hybrid, electric");
    p.vehicles.f = v;
    what = std::string(to_string(v)) + (what.empty() ? "" : " ") + what;
  }
  if (auto n = body["standard_below"]) {
    const auto v = standard_at(n);
    p.vehicles.standard_below = v;
    what += (what.empty() ? "" : " ") + std::string("below ") + std::string(to_string(v));
  }
  if (!body["districts"]) body["districts"].fail("missing: the districts banned from");
  p.target = "ban " + (what.empty() ? std::string("every vehicle") : what);
  p.districts = districts_of(r, body["districts"], p.target);
}

void read_electrify(const spec_reader& r, const yaml_reader& body, env::env_perturbation& p) {
  p.kind = env::env_change_kind::electrify;
  body.allow_keys({"category", "share", "districts"});
  if (auto n = body["category"]) p.vehicles.category = category_at(n);
  p.share = body.required("share").number_in(0, 1);
  p.target = "electrify " +
             (p.vehicles.category ? std::string(to_string(*p.vehicles.category)) : "all") + " " +
             std::to_string(static_cast<int>(std::lround(p.share * 100))) + "%";
  if (auto n = body["districts"]) p.districts = districts_of(r, n, p.target);
}

void read_low_emission_zone(const spec_reader& r, const yaml_reader& body,
                            env::env_perturbation& p) {
  p.kind = env::env_change_kind::low_emission_zone;
  body.allow_keys({"minimum", "districts", "replacement"});
  p.minimum = standard_at(body.required("minimum"));
  if (auto n = body["replacement"])
    p.replacement = known_name(n, parse_replacement, "replacement", "stay_out, upgrade");
  p.target = "low-emission zone " + std::string(to_string(p.minimum));
  p.districts = districts_of(r, body.required("districts"), p.target);
}

// The district of a new stack: as given, else the one whose polygon holds it.
district_id source_district(const spec_reader& r, const yaml_reader& body, lon_lat at) {
  if (auto n = body["district"]) return r.district(n);
  const city& c = r.base_city();
  for (const auto& d : c.districts)
    if (contains(d.area, at)) return d.id;
  body["district"].fail("the source lies in no district of city " + text::quoted(c.name) +
                        ": name the district its emissions count in");
}

void read_add_source(const spec_reader& r, const yaml_reader& body, env::env_perturbation& p,
                     std::vector<std::string>& source_keys) {
  p.kind = env::env_change_kind::add_source;
  body.allow_keys({"key", "name", "lon", "lat", "district", "stack_height_m", "stack_diameter_m",
                   "exit_velocity_m_s", "exit_temperature_k", "nox_g_s", "pm25_g_s", "co2_g_s"});
  auto& s = p.source;
  s.key = body.required("key").text();
  if (std::find(source_keys.begin(), source_keys.end(), s.key) != source_keys.end())
    body["key"].fail("source key " + text::quoted(s.key) + " is already taken");
  if (source_keys.size() >= env::env_sources_max)
    body["key"].fail("at most " + std::to_string(env::env_sources_max) + " stacks in a variant");
  s.name = body["name"] ? body["name"].text() : s.key;
  s.position.lon = body.required("lon").number_in(-180, 180);
  s.position.lat = body.required("lat").number_in(-90, 90);
  s.district = source_district(r, body, s.position);
  s.stack_height_m = body.required("stack_height_m").non_negative();
  s.stack_diameter_m = body.required("stack_diameter_m").positive();
  s.exit_velocity_m_s = body.required("exit_velocity_m_s").non_negative();
  s.exit_temperature_k = body.required("exit_temperature_k").positive();
  s.nox_g_s = body["nox_g_s"] ? body["nox_g_s"].non_negative() : 0;
  s.pm25_g_s = body["pm25_g_s"] ? body["pm25_g_s"].non_negative() : 0;
  s.co2_g_s = body["co2_g_s"] ? body["co2_g_s"].non_negative() : 0;
  source_keys.push_back(s.key);
  p.key = s.key;
  p.target = "source " + s.key + " (new)";
}

// One environmental perturbation; `source_keys` are the stacks the variant has so far.
env::env_perturbation read_env_perturbation(const spec_reader& r, const yaml_entry& item,
                                            std::vector<std::string>& source_keys) {
  const auto& kind = item.name;
  const yaml_reader& body = item.value;
  body.expect_map();
  env::env_perturbation p;
  p.line = item.key.line();
  auto known_source = [&](const yaml_reader& n) {
    auto key = n.text();
    if (std::find(source_keys.begin(), source_keys.end(), key) == source_keys.end())
      n.fail("unknown source " + text::quoted(key) + " in city " +
             text::quoted(r.base_city().name));
    return key;
  };
  if (kind == "weather") {
    read_weather_change(body, p);
  } else if (kind == "background") {
    read_background_change(r, body, p);
  } else if (kind == "ban") {
    read_ban(r, body, p);
  } else if (kind == "electrify") {
    read_electrify(r, body, p);
  } else if (kind == "low_emission_zone") {
    read_low_emission_zone(r, body, p);
  } else if (kind == "add_source") {
    read_add_source(r, body, p, source_keys);
  } else if (kind == "remove_source") {
    p.kind = env::env_change_kind::remove_source;
    body.allow_keys({"key"});
    p.key = known_source(body.required("key"));
    std::erase(source_keys, p.key);
    p.target = "source " + p.key + " removed";
  } else {
    p.kind = env::env_change_kind::source;
    body.allow_keys({"key", "factor"});
    p.key = known_source(body.required("key"));
    p.factor = body.required("factor").non_negative();
    p.target = "source " + p.key;
  }
  return p;
}

// ---------------------------------------------------------------------------------------------
// The scenario: its settings and its variants.

// The top-level keys and the base folder: what is needed before the base city is loaded.
fs::path read_base(const yaml_reader& root, const fs::path& file) {
  if (!root.is_map()) root.fail("expected a map of scenario settings");
  root.allow_keys({"scenario", "title", "description", "base", "assignment", "value_of_time_per_h",
                   "report", "variants", "environment"});
  auto base = root.required("base");
  base.allow_keys({"city", "node", "snapshot", "capacity_tolerance"});
  if (auto snapshot = base["snapshot"]; snapshot && base["node"])
    snapshot.fail(
        "base.snapshot and base.node together: the base is forked from one live state, a "
        "snapshot file's or a running node's");
  if (!base["city"])
    base["city"].fail(
        "missing: the city bundle folder (a live base needs it too: it gives the network)");
  fs::path dir = base["city"].text();
  return dir.is_absolute() ? dir : file.parent_path() / dir;
}

// The scenario's name, title, live node, and the assignment and report settings.
void read_settings(const yaml_reader& root, scenario_spec& s) {
  if (auto node = root["base"]["node"]) {
    s.base_node = node.text();
    if (s.base_node.find("://") == std::string::npos)
      node.fail(text::quoted(s.base_node) + " is not a node address such as tcp://127.0.0.1:7101");
  }
  if (auto snapshot = root["base"]["snapshot"]) {
    fs::path path = snapshot.text();
    if (path.empty()) snapshot.fail("expected a snapshot file");
    s.base_snapshot = path.is_absolute() ? path : s.file.parent_path() / path;
  }
  auto name = root["scenario"];
  if (!name) name.fail("missing: the scenario's name");
  s.name = name.text();
  if (!is_file_name(s.name))
    name.fail("use letters, digits, '-', '_' and '.' only (it names the output folder)");
  s.title = root["title"] ? root["title"].text() : s.name;
  if (auto a = root["assignment"]) {
    a.allow_keys({"gap", "iterations_max"});
    if (auto gap = a["gap"]) {
      s.relative_gap = gap.positive();
      if (s.relative_gap >= 1) gap.fail("must be below 1");
    }
    if (auto n = a["iterations_max"])
      s.iterations_max = static_cast<std::uint32_t>(n.whole(1, 100000));
  }
  if (auto n = root["value_of_time_per_h"]) s.value_of_time_per_h = n.positive();
  if (auto rep = root["report"]) {
    rep.allow_keys({"top"});
    if (auto n = rep["top"]) s.top = static_cast<std::uint32_t>(n.whole(1, scenario_top_max));
  }
}

variant_spec read_variant(spec_reader& r, const yaml_reader& v, const scenario_spec& s) {
  if (!v.is_map()) v.fail("expected a map with 'name' and 'perturbations'");
  v.allow_keys({"name", "title", "perturbations"});
  variant_spec vs;
  auto name = v.required("name");
  vs.name = name.text();
  for (const auto& other : s.variants)
    if (other.name == vs.name) name.fail("duplicate variant name " + text::quoted(vs.name));
  if (vs.name == "baseline") name.fail("'baseline' is the unperturbed network's name");
  if (!is_file_name(vs.name))
    name.fail("use letters, digits, '-', '_' and '.' only (it names an output file)");
  vs.title = v["title"] ? v["title"].text() : vs.name;
  auto list = v.required("perturbations");
  auto items = list.items();
  if (items.size() > scenario_perturbations_max)
    list.fail("at most " + std::to_string(scenario_perturbations_max) + " perturbations");
  std::vector<std::string> new_keys;
  std::vector<std::string> source_keys;
  for (const auto& src : r.base_city().sources) source_keys.push_back(src.key);
  for (const auto& item : items) {
    if (!item.is_map() || item.size() != 1)
      item.fail(
          "expected one perturbation such as '- close: { bridge: NAME }' (close, capacity, "
          "speed, demand, add_link, toll, weather, background, ban, electrify, "
          "low_emission_zone, add_source, remove_source, source)");
    const auto entry = item.entries().front();
    if (is_environmental(entry.name))
      vs.environment.push_back(read_env_perturbation(r, entry, source_keys));
    else
      vs.perturbations.push_back(r.read_perturbation(entry, s, new_keys));
  }
  return vs;
}

void read_variants(spec_reader& r, const yaml_reader& root, scenario_spec& s) {
  auto variants = root["variants"];
  if (!variants) variants.fail("missing: at least one variant");
  if (!variants.is_sequence() || variants.size() == 0)
    variants.fail("expected a non-empty list of variants");
  if (variants.size() > scenario_variants_max)
    variants.fail("at most " + std::to_string(scenario_variants_max) + " variants per scenario");
  for (const auto& v : variants.items()) {
    auto vs = read_variant(r, v, s);
    if (!vs.environment.empty()) s.environment.enabled = true;
    s.variants.push_back(std::move(vs));
  }
}

scenario_spec read_spec(const yaml_reader& root, const fs::path& file, spec_reader& r) {
  scenario_spec s;
  s.file = file;
  s.base_city = read_base(root, file);
  read_settings(root, s);
  read_environment(r, root, s);
  read_variants(r, root, s);
  return s;
}

template <class F>
auto guarded(const fs::path& file, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const load_failure& e) {
    return unexpected{e.error};
  } catch (const YAML::Exception& e) {
    return unexpected{
        load_error{file.string(), e.mark.line >= 0 ? e.mark.line + 1u : 0u, "", e.msg}};
  }
}

}  // namespace

expected<scenario_spec, load_error> load_scenario_spec(const fs::path& file, const city& base) {
  return guarded(file, [&]() -> expected<scenario_spec, load_error> {
    spec_reader r(base);
    return read_spec(yaml_reader::load_file(file), file, r);
  });
}

expected<scenario, load_error> load_scenario(const fs::path& file) {
  return guarded(file, [&]() -> expected<scenario, load_error> {
    const auto root = yaml_reader::load_file(file);
    auto dir = read_base(root, file);
    if (!fs::is_directory(dir))
      root["base"]["city"].fail("no city bundle folder at " + dir.string());
    auto c = load_city(dir);
    if (!c) return unexpected{c.error()};
    scenario s;
    s.base = std::move(*c);
    spec_reader r(s.base);
    s.spec = read_spec(root, file, r);
    if (auto tolerance = root["base"]["capacity_tolerance"])
      s.live_options.capacity_tolerance = tolerance.number_in(0, 1);
    return s;
  });
}

expected<bool, live_base_error> attach_live_base(scenario& s, live_snapshot live) {
  if (auto ok = check_live_snapshot(s.base, live); !ok) return unexpected{ok.error()};
  if (live.snapshot) {
    s.spec.base_node.clear();
    s.spec.base_snapshot = live.snapshot->file;
  } else {
    s.spec.base_node = live.node;
    s.spec.base_snapshot.clear();
  }
  s.live = std::move(live);
  return true;
}

}  // namespace twin
