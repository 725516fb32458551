#include "twin/scenario/spec.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <queue>
#include <unordered_map>

#include "twin/base/csv.hpp"
#include "twin/base/text.hpp"
#include "twin/base/time_text.hpp"
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

std::size_t line_of(const YAML::Node& n) {
  return n.Mark().line >= 0 ? static_cast<std::size_t>(n.Mark().line) + 1 : 0;
}

// Reads one scenario file: every failure names the file, the line and the dotted field path.
class spec_reader {
 public:
  spec_reader(std::string file, const city& c) : file_(std::move(file)), city_(c) {
    for (const auto& n : c.nodes) node_by_number_.emplace(n.number, n.id);
    for (const auto& z : c.zones) zone_by_number_.emplace(z.number, z.id);
    for (const auto& l : c.links) link_by_key_.emplace(l.key, l.id);
  }

  const city& base_city() const { return city_; }

  [[noreturn]] void fail(const YAML::Node& at, const std::string& field,
                         std::string message) const {
    throw load_failure{load_error{file_, line_of(at), field, std::move(message)}};
  }

  void only_keys(const YAML::Node& map, const std::string& path,
                 std::initializer_list<std::string_view> known) const {
    for (const auto& kv : map) {
      auto key = kv.first.as<std::string>();
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      std::string list;
      for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      fail(kv.first, join(path, key),
           "unknown key " + text::quoted(key) + " (known: " + list + ")");
    }
  }

  static std::string join(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }

  YAML::Node map(const YAML::Node& parent, const char* key, const std::string& path,
                 bool required) const {
    YAML::Node n = parent[key];
    if (!n) {
      if (required) fail(parent, join(path, key), "missing");
      return n;
    }
    if (!n.IsMap()) fail(n, join(path, key), "expected a map");
    return n;
  }

  std::string text(const YAML::Node& n, const std::string& field) const {
    if (!n.IsScalar()) fail(n, field, "expected text");
    auto s = n.as<std::string>();
    if (trim(s).empty()) fail(n, field, "must not be empty");
    return s;
  }

  double number(const YAML::Node& n, const std::string& field) const {
    if (!n.IsScalar()) fail(n, field, "expected a number");
    auto s = n.as<std::string>();
    auto v = parse_double(s);
    if (!v) fail(n, field, text::quoted(s) + " is not a finite number");
    return *v;
  }

  double non_negative(const YAML::Node& n, const std::string& field) const {
    double v = number(n, field);
    if (v < 0) fail(n, field, "must not be negative, got " + n.as<std::string>());
    return v;
  }

  double positive(const YAML::Node& n, const std::string& field) const {
    double v = number(n, field);
    if (!(v > 0)) fail(n, field, "must be positive, got " + n.as<std::string>());
    return v;
  }

  std::uint32_t whole(const YAML::Node& n, const std::string& field, std::uint32_t min,
                      std::uint32_t max) const {
    if (!n.IsScalar()) fail(n, field, "expected a whole number");
    auto v = parse_int(n.as<std::string>());
    if (!v || *v < min || *v > max)
      fail(n, field,
           text::quoted(n.as<std::string>()) + " is not a whole number in [" + std::to_string(min) +
               ", " + std::to_string(max) + "]");
    return static_cast<std::uint32_t>(*v);
  }

  // A scalar or a list of scalars.
  std::vector<YAML::Node> one_or_many(const YAML::Node& n, const std::string& field) const {
    std::vector<YAML::Node> out;
    if (n.IsScalar()) {
      out.push_back(n);
    } else if (n.IsSequence()) {
      for (const auto& e : n) out.push_back(e);
      if (out.empty()) fail(n, field, "must not be an empty list");
    } else {
      fail(n, field, "expected a value or a list of values");
    }
    return out;
  }

  node_id node(const YAML::Node& n, const std::string& field) const {
    auto number = whole(n, field, 0, std::numeric_limits<std::uint32_t>::max());
    auto it = node_by_number_.find(number);
    if (it == node_by_number_.end())
      fail(n, field,
           "unknown node " + std::to_string(number) + " in city " + text::quoted(city_.name));
    return it->second;
  }

  zone_id zone(const YAML::Node& n, const std::string& field) const {
    auto number = whole(n, field, 0, std::numeric_limits<std::uint32_t>::max());
    auto it = zone_by_number_.find(number);
    if (it == zone_by_number_.end())
      fail(n, field,
           "unknown zone " + std::to_string(number) + " in city " + text::quoted(city_.name));
    return it->second;
  }

  district_id district(const YAML::Node& n, const std::string& field) const {
    auto key = text(n, field);
    auto d = city_.find_district(key);
    if (!d)
      fail(n, field,
           "unknown district " + text::quoted(key) + " in city " + text::quoted(city_.name));
    return *d;
  }

  // `links: [keys]`, `bridge: NAME` or `district: KEY`: exactly one of them.
  void select_links(const YAML::Node& body, const std::string& path, perturbation& p) const {
    int given = 0;
    for (const char* k : {"links", "bridge", "district"}) given += body[k] ? 1 : 0;
    if (given != 1)
      fail(body, path, "name the links with exactly one of 'links', 'bridge' or 'district'");
    if (YAML::Node keys = body["links"]) {
      const auto field = join(path, "links");
      std::string listed;
      for (const auto& k : one_or_many(keys, field)) {
        auto key = text(k, field);
        auto it = link_by_key_.find(key);
        if (it == link_by_key_.end())
          fail(k, field,
               "unknown link " + text::quoted(key) + " in city " + text::quoted(city_.name));
        p.links.push_back(it->second);
        listed += (listed.empty() ? "" : ", ") + key;
      }
      p.target = "links " + listed;
    } else if (YAML::Node bridge = body["bridge"]) {
      const auto field = join(path, "bridge");
      auto name = text(bridge, field);
      for (const auto& l : city_.links)
        if (l.name == name) p.links.push_back(l.id);
      if (p.links.empty())
        fail(bridge, field,
             "no link is named " + text::quoted(name) + " in city " + text::quoted(city_.name));
      p.target = "bridge " + text::quoted(name);
    } else {
      const auto field = join(path, "district");
      auto d = district(body["district"], field);
      p.links = city_.links_of(d);
      p.target = "district " + city_.districts[d.value].key;
    }
    std::sort(p.links.begin(), p.links.end());
    p.links.erase(std::unique(p.links.begin(), p.links.end()), p.links.end());
  }

  perturbation read_perturbation(const YAML::Node& item, const std::string& path,
                                 const scenario_spec& spec, std::vector<std::string>& new_keys) {
    if (!item.IsMap() || item.size() != 1)
      fail(item, path,
           "expected one perturbation such as '- close: { bridge: NAME }' (close, capacity, "
           "speed, demand, add_link, toll, weather, background, ban, electrify, "
           "low_emission_zone, add_source, remove_source, source)");
    const auto& kv = *item.begin();
    const auto kind = kv.first.as<std::string>();
    const YAML::Node body = kv.second;
    const std::string field = join(path, kind);
    if (!body.IsMap()) fail(body, field, "expected a map");
    perturbation p;
    p.line = line_of(kv.first);
    if (kind == "close") {
      p.kind = perturbation_kind::close;
      only_keys(body, field, {"links", "bridge", "district"});
      select_links(body, field, p);
    } else if (kind == "capacity") {
      p.kind = perturbation_kind::capacity;
      only_keys(body, field, {"links", "bridge", "district", "factor"});
      select_links(body, field, p);
      p.factor = non_negative(required(body, "factor", field), join(field, "factor"));
    } else if (kind == "speed") {
      p.kind = perturbation_kind::speed;
      only_keys(body, field, {"links", "bridge", "district", "factor", "free_speed_kmh"});
      select_links(body, field, p);
      if ((body["factor"] ? 1 : 0) + (body["free_speed_kmh"] ? 1 : 0) != 1)
        fail(body, field, "give exactly one of 'factor' or 'free_speed_kmh'");
      if (body["factor"])
        p.factor = positive(body["factor"], join(field, "factor"));
      else
        p.free_speed_kmh = positive(body["free_speed_kmh"], join(field, "free_speed_kmh"));
    } else if (kind == "demand") {
      p.kind = perturbation_kind::demand;
      only_keys(body, field, {"factor", "from_zone", "to_zone", "from_district", "to_district"});
      p.factor = non_negative(required(body, "factor", field), join(field, "factor"));
      std::string target;
      auto describe = [&](const char* key, const YAML::Node& n) {
        target += (target.empty() ? "" : ", ") + std::string(key) + " " +
                  (n.IsScalar() ? n.as<std::string>() : YAML::Dump(n));
      };
      if (YAML::Node n = body["from_zone"]) {
        for (const auto& e : one_or_many(n, join(field, "from_zone")))
          p.from_zones.push_back(zone(e, join(field, "from_zone")));
        describe("from_zone", n);
      }
      if (YAML::Node n = body["to_zone"]) {
        for (const auto& e : one_or_many(n, join(field, "to_zone")))
          p.to_zones.push_back(zone(e, join(field, "to_zone")));
        describe("to_zone", n);
      }
      if (YAML::Node n = body["from_district"]) {
        for (const auto& e : one_or_many(n, join(field, "from_district")))
          p.from_districts.push_back(district(e, join(field, "from_district")));
        describe("from_district", n);
      }
      if (YAML::Node n = body["to_district"]) {
        for (const auto& e : one_or_many(n, join(field, "to_district")))
          p.to_districts.push_back(district(e, join(field, "to_district")));
        describe("to_district", n);
      }
      p.target = target.empty() ? "all trips" : "trips " + target;
    } else if (kind == "add_link") {
      p.kind = perturbation_kind::add_link;
      only_keys(body, field,
                {"from", "to", "capacity_veh_h", "free_speed_kmh", "lanes", "length_m", "name",
                 "key", "district"});
      auto& a = p.added;
      a.from = node(required(body, "from", field), join(field, "from"));
      a.to = node(required(body, "to", field), join(field, "to"));
      if (a.from == a.to) fail(body["to"], join(field, "to"), "a link needs two different nodes");
      a.capacity_veh_h =
          positive(required(body, "capacity_veh_h", field), join(field, "capacity_veh_h"));
      a.free_speed_kmh =
          positive(required(body, "free_speed_kmh", field), join(field, "free_speed_kmh"));
      a.lanes = body["lanes"] ? whole(body["lanes"], join(field, "lanes"), 1, 64) : 1;
      const auto from_pos = city_.nodes[a.from.value].position;
      const auto to_pos = city_.nodes[a.to.value].position;
      a.length_m = body["length_m"] ? positive(body["length_m"], join(field, "length_m"))
                                    : haversine_m(from_pos, to_pos);
      if (!(a.length_m > 0))
        fail(body, join(field, "length_m"), "the nodes coincide: give length_m");
      const auto from_number = std::to_string(city_.nodes[a.from.value].number);
      const auto to_number = std::to_string(city_.nodes[a.to.value].number);
      a.key = body["key"] ? text(body["key"], join(field, "key"))
                          : "new-" + from_number + "-" + to_number;
      if (link_by_key_.count(a.key) ||
          std::find(new_keys.begin(), new_keys.end(), a.key) != new_keys.end())
        fail(body["key"] ? body["key"] : body, join(field, "key"),
             "link key " + text::quoted(a.key) + " is already taken");
      new_keys.push_back(a.key);
      a.name = body["name"] ? text(body["name"], join(field, "name")) : "new link";
      a.district = body["district"] ? district(body["district"], join(field, "district"))
                                    : district_at(a.from, midpoint(from_pos, to_pos));
      p.target = "link " + a.key + " (" + from_number + " -> " + to_number + ")";
    } else if (kind == "toll") {
      p.kind = perturbation_kind::toll;
      only_keys(body, field, {"links", "bridge", "district", "toll"});
      select_links(body, field, p);
      p.toll = non_negative(required(body, "toll", field), join(field, "toll"));
      if (!(spec.value_of_time_per_h > 0))
        fail(kv.first, field,
             "a toll needs 'value_of_time_per_h' at the top of the scenario, to turn money "
             "into minutes");
    } else {
      fail(kv.first, path,
           "unknown perturbation " + text::quoted(kind) +
               " (known: close, capacity, speed, demand, add_link, toll, weather, background, "
               "ban, electrify, low_emission_zone, add_source, remove_source, source)");
    }
    return p;
  }

  YAML::Node required(const YAML::Node& body, const char* key, const std::string& path) const {
    YAML::Node n = body[key];
    if (!n) fail(body, join(path, key), "missing");
    return n;
  }

  // The district whose polygon holds `at`; else that of a link at the node; else the first.
  district_id district_at(node_id n, lon_lat at) const {
    for (const auto& d : city_.districts)
      if (contains(d.area, at)) return d.id;
    for (const auto& l : city_.links)
      if (l.from == n || l.to == n) return l.district;
    return district_id{0};
  }

 private:
  std::string file_;
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

double fraction(const spec_reader& r, const YAML::Node& n, const std::string& field) {
  const double v = r.number(n, field);
  if (v < 0 || v > 1) r.fail(n, field, "must be in [0, 1], got " + n.as<std::string>());
  return v;
}

// Degrees clockwise from north, or a 16-point compass name; where the wind comes from.
double wind_from(const spec_reader& r, const YAML::Node& n, const std::string& field) {
  if (!n.IsScalar()) r.fail(n, field, "expected degrees or a compass point such as S or SSW");
  const auto text = n.as<std::string>();
  if (auto v = parse_double(text)) {
    if (*v < 0 || *v > 360) r.fail(n, field, "must be in [0, 360] degrees, got " + text);
    return *v == 360 ? 0 : *v;
  }
  if (auto deg = env::parse_compass_deg(trim(text))) return *deg;
  r.fail(n, field,
         "unknown compass point " + text::quoted(text) +
             " (give degrees, or one of N, NNE, NE, ENE, E, ESE, SE, SSE, S, SSW, SW, WSW, W, "
             "WNW, NW, NNW)");
}

env::stability stability_class(const spec_reader& r, const YAML::Node& n,
                               const std::string& field) {
  auto s = env::parse_stability(r.text(n, field));
  if (!s)
    r.fail(n, field,
           "unknown stability class " + text::quoted(n.as<std::string>()) + " (known: A to F)");
  return *s;
}

// The weather keys both the settings and a variant's `weather` change take.
env::weather_change weather_fields(const spec_reader& r, const YAML::Node& body,
                                   const std::string& path) {
  env::weather_change c;
  const auto f = [&](const char* key) { return spec_reader::join(path, key); };
  if (body["wind_from"]) c.wind_from_deg = wind_from(r, body["wind_from"], f("wind_from"));
  if (body["wind_speed_m_s"])
    c.wind_speed_m_s = r.positive(body["wind_speed_m_s"], f("wind_speed_m_s"));
  if (body["stability"]) c.stability_class = stability_class(r, body["stability"], f("stability"));
  if (body["mixing_height_m"])
    c.mixing_height_m = r.positive(body["mixing_height_m"], f("mixing_height_m"));
  if (body["air_temperature_c"]) {
    const double t = r.number(body["air_temperature_c"], f("air_temperature_c"));
    if (t < -60 || t > 60)
      r.fail(body["air_temperature_c"], f("air_temperature_c"),
             "must be in [-60, 60] degrees C, got " + body["air_temperature_c"].as<std::string>());
    c.air_temperature_k = t + 273.15;
  }
  return c;
}

void read_environment(const spec_reader& r, const YAML::Node& root, const city& c,
                      scenario_spec& s) {
  auto& e = s.environment;
  e.district_background.assign(c.districts.size(), std::nullopt);
  e.district_background_set.assign(c.districts.size(), {});
  YAML::Node env = r.map(root, "environment", "", false);
  if (!env) return;
  e.enabled = true;
  r.only_keys(env, "environment",
              {"weather", "background", "grid", "sigmas", "no2_from_nox", "receptor_height_m",
               "guidelines", "noise_periods"});
  if (YAML::Node g = r.map(env, "grid", "environment", false)) {
    r.only_keys(g, "environment.grid", {"resolution_m", "margin_m"});
    if (g["resolution_m"])
      e.grid.resolution_m = r.positive(g["resolution_m"], "environment.grid.resolution_m");
    if (g["margin_m"]) e.grid.margin_m = r.non_negative(g["margin_m"], "environment.grid.margin_m");
  }
  auto planned = env::plan_receptor_grid(c, e.grid);
  if (!planned) r.fail(env, "environment.grid", planned.error());

  if (YAML::Node w = r.map(env, "weather", "environment", false)) {
    const std::string path = "environment.weather";
    r.only_keys(w, path,
                {"wind_from", "wind_speed_m_s", "stability", "cloud_oktas", "cloud_ceiling_m",
                 "time", "mixing_height_m", "air_temperature_c"});
    const auto c0 = weather_fields(r, w, path);
    env::station_report report;
    if (c0.wind_speed_m_s) report.wind_speed_m_s = *c0.wind_speed_m_s;
    if (c0.wind_from_deg) report.wind_from_deg = *c0.wind_from_deg;
    if (c0.air_temperature_k) report.air_temperature_k = *c0.air_temperature_k;
    report.mixing_height_m = c0.mixing_height_m;
    report.stability_class = c0.stability_class;
    time_ms when = 0;
    if (w["cloud_oktas"] || w["time"] || w["cloud_ceiling_m"]) {
      if (w["stability"])
        r.fail(w["stability"], path + ".stability",
               "give either 'stability' or 'cloud_oktas' and 'time' (to derive it), not both");
      if (!w["cloud_oktas"] || !w["time"])
        r.fail(w, path, "deriving the stability class needs both 'cloud_oktas' and 'time'");
      report.clouds.cloud_oktas =
          static_cast<int>(r.whole(w["cloud_oktas"], path + ".cloud_oktas", 0, 8));
      if (w["cloud_ceiling_m"])
        report.clouds.cloud_ceiling_m = r.positive(w["cloud_ceiling_m"], path + ".cloud_ceiling_m");
      auto t = parse_iso8601_ms(r.text(w["time"], path + ".time"), std::nullopt);
      if (!t)
        r.fail(w["time"], path + ".time",
               text::quoted(w["time"].as<std::string>()) +
                   " is not a time such as 2024-08-15T14:00:00+08:00 (an offset or Z is needed)");
      when = *t;
    } else if (!c0.stability_class) {
      report.stability_class = e.w.stability_class;
    }
    e.w = env::make_weather(report, when, planned->frame.origin());
    e.mixing_height_given = c0.mixing_height_m.has_value();
    e.wind_speed_given = c0.wind_speed_m_s.has_value();
    e.wind_from_given = c0.wind_from_deg.has_value();
    e.station = report;
    e.station_time = when;
  } else {
    e.w.mixing_height_m = env::default_mixing_height_m(e.w.stability_class, e.w.wind_speed_m_s);
  }

  if (YAML::Node b = r.map(env, "background", "environment", false)) {
    r.only_keys(b, "environment.background", {"pm25", "no2", "districts"});
    if (b["pm25"])
      e.background.pm25_ug_m3 = r.non_negative(b["pm25"], "environment.background.pm25");
    if (b["no2"]) e.background.no2_ug_m3 = r.non_negative(b["no2"], "environment.background.no2");
    e.background_set = {static_cast<bool>(b["pm25"]), static_cast<bool>(b["no2"])};
    if (YAML::Node ds = r.map(b, "districts", "environment.background", false)) {
      for (const auto& kv : ds) {
        const std::string path = "environment.background.districts." + kv.first.as<std::string>();
        const auto d = r.district(kv.first, path);
        if (!kv.second.IsMap()) r.fail(kv.second, path, "expected a map with pm25 and/or no2");
        r.only_keys(kv.second, path, {"pm25", "no2"});
        env::air_background one = e.background;
        if (kv.second["pm25"]) one.pm25_ug_m3 = r.non_negative(kv.second["pm25"], path + ".pm25");
        if (kv.second["no2"]) one.no2_ug_m3 = r.non_negative(kv.second["no2"], path + ".no2");
        e.district_background[d.value] = one;
        e.district_background_set[d.value] = {static_cast<bool>(kv.second["pm25"]),
                                              static_cast<bool>(kv.second["no2"])};
      }
    }
  }
  if (env["sigmas"]) {
    auto scheme = env::parse_sigma_scheme(r.text(env["sigmas"], "environment.sigmas"));
    if (!scheme)
      r.fail(env["sigmas"], "environment.sigmas",
             "unknown sigmas " + text::quoted(env["sigmas"].as<std::string>()) +
                 " (known: pg, briggs-urban, briggs-rural)");
    e.scheme = *scheme;
  }
  if (env["no2_from_nox"])
    e.no2_from_nox = fraction(r, env["no2_from_nox"], "environment.no2_from_nox");
  if (env["receptor_height_m"])
    e.receptor_height_m = r.non_negative(env["receptor_height_m"], "environment.receptor_height_m");
  if (YAML::Node g = r.map(env, "guidelines", "environment", false)) {
    const std::string path = "environment.guidelines";
    r.only_keys(g, path, {"pm25", "no2", "annual_pm25", "annual_no2"});
    if (g["pm25"]) e.short_term.pm25_ug_m3 = r.positive(g["pm25"], path + ".pm25");
    if (g["no2"]) e.short_term.no2_ug_m3 = r.positive(g["no2"], path + ".no2");
    if (g["annual_pm25"]) e.annual.pm25_ug_m3 = r.positive(g["annual_pm25"], path + ".annual_pm25");
    if (g["annual_no2"]) e.annual.no2_ug_m3 = r.positive(g["annual_no2"], path + ".annual_no2");
  }
  if (YAML::Node n = r.map(env, "noise_periods", "environment", false)) {
    const std::string path = "environment.noise_periods";
    r.only_keys(n, path, {"day", "evening", "night"});
    if (n["day"]) e.noise_periods.day = r.positive(n["day"], path + ".day");
    if (n["evening"]) e.noise_periods.evening = r.positive(n["evening"], path + ".evening");
    if (n["night"]) e.noise_periods.night = r.positive(n["night"], path + ".night");
  }
}

std::vector<district_id> districts_of(const spec_reader& r, const YAML::Node& n,
                                      const std::string& field, std::string& target) {
  std::vector<district_id> out;
  std::string listed;
  for (const auto& e : r.one_or_many(n, field)) {
    out.push_back(r.district(e, field));
    listed += (listed.empty() ? "" : ", ") + e.as<std::string>();
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  target += " in " + listed;
  return out;
}

// A name from a closed vocabulary; `parse` gives nothing for a name it does not know, and the
// message then lists the known ones.
template <class Parse>
auto known_name(const spec_reader& r, const YAML::Node& n, const std::string& field, Parse parse,
                std::string_view what, std::string_view known) {
  auto v = parse(r.text(n, field));
  if (!v)
    r.fail(n, field,
           "unknown " + std::string(what) + " " + text::quoted(n.as<std::string>()) +
               " (known: " + std::string(known) + ")");
  return *v;
}

vehicle_category category_at(const spec_reader& r, const YAML::Node& n, const std::string& field) {
  return known_name(r, n, field, parse_vehicle_category, "vehicle category",
                    "car, taxi, light_goods, heavy_goods, bus, motorcycle, moped");
}

euro_standard standard_at(const spec_reader& r, const YAML::Node& n, const std::string& field) {
  return known_name(r, n, field, parse_euro_standard, "emission standard",
                    "pre_euro, euro_1 ... euro_6");
}

// One environmental perturbation; `source_keys` are the stacks the variant has so far.
env::env_perturbation read_env_perturbation(const spec_reader& r, const city& c,
                                            const YAML::Node& item, const std::string& path,
                                            std::vector<std::string>& source_keys) {
  const auto& kv = *item.begin();
  const auto kind = kv.first.as<std::string>();
  const YAML::Node body = kv.second;
  const std::string field = spec_reader::join(path, kind);
  if (!body.IsMap()) r.fail(body, field, "expected a map");
  const auto f = [&](const char* key) { return spec_reader::join(field, key); };
  env::env_perturbation p;
  p.line = line_of(kv.first);
  auto known_source = [&](const YAML::Node& n, const std::string& at) {
    auto key = r.text(n, at);
    if (std::find(source_keys.begin(), source_keys.end(), key) == source_keys.end())
      r.fail(n, at, "unknown source " + text::quoted(key) + " in city " + text::quoted(c.name));
    return key;
  };
  if (kind == "weather") {
    p.kind = env::env_change_kind::weather;
    r.only_keys(
        body, field,
        {"wind_from", "wind_speed_m_s", "stability", "mixing_height_m", "air_temperature_c"});
    if (body.size() == 0) r.fail(body, field, "change at least one weather field");
    p.weather = weather_fields(r, body, field);
    p.target = "weather";
  } else if (kind == "background") {
    p.kind = env::env_change_kind::background;
    r.only_keys(body, field, {"pm25", "no2", "districts"});
    if (!body["pm25"] && !body["no2"]) r.fail(body, field, "give 'pm25' and/or 'no2' (ug/m3)");
    if (body["pm25"]) p.pm25_ug_m3 = r.non_negative(body["pm25"], f("pm25"));
    if (body["no2"]) p.no2_ug_m3 = r.non_negative(body["no2"], f("no2"));
    p.target = "background";
    if (body["districts"])
      p.districts = districts_of(r, body["districts"], f("districts"), p.target);
  } else if (kind == "ban") {
    p.kind = env::env_change_kind::ban;
    r.only_keys(body, field, {"category", "fuel", "standard_below", "districts"});
    std::string what;
    if (body["category"]) {
      const auto v = category_at(r, body["category"], f("category"));
      p.vehicles.category = v;
      what += std::string(to_string(v));
    }
    if (body["fuel"]) {
      const auto v = known_name(r, body["fuel"], f("fuel"), parse_fuel, "fuel",
                                "petrol, diesel, lpg, cng, hybrid, electric");
      p.vehicles.f = v;
      what = std::string(to_string(v)) + (what.empty() ? "" : " ") + what;
    }
    if (body["standard_below"]) {
      const auto v = standard_at(r, body["standard_below"], f("standard_below"));
      p.vehicles.standard_below = v;
      what += (what.empty() ? "" : " ") + std::string("below ") + std::string(to_string(v));
    }
    if (!body["districts"]) r.fail(body, f("districts"), "missing: the districts banned from");
    p.target = "ban " + (what.empty() ? std::string("every vehicle") : what);
    p.districts = districts_of(r, body["districts"], f("districts"), p.target);
  } else if (kind == "electrify") {
    p.kind = env::env_change_kind::electrify;
    r.only_keys(body, field, {"category", "share", "districts"});
    if (body["category"]) p.vehicles.category = category_at(r, body["category"], f("category"));
    p.share = fraction(r, r.required(body, "share", field), f("share"));
    p.target = "electrify " +
               (p.vehicles.category ? std::string(to_string(*p.vehicles.category)) : "all") + " " +
               std::to_string(static_cast<int>(std::lround(p.share * 100))) + "%";
    if (body["districts"])
      p.districts = districts_of(r, body["districts"], f("districts"), p.target);
  } else if (kind == "low_emission_zone") {
    p.kind = env::env_change_kind::low_emission_zone;
    r.only_keys(body, field, {"minimum", "districts", "replacement"});
    p.minimum = standard_at(r, r.required(body, "minimum", field), f("minimum"));
    if (body["replacement"])
      p.replacement = known_name(
          r, body["replacement"], f("replacement"),
          [](std::string_view rule) -> std::optional<env::lez_replacement> {
            if (rule == "stay_out") return env::lez_replacement::stay_out;
            if (rule == "upgrade") return env::lez_replacement::upgrade;
            return std::nullopt;
          },
          "replacement", "stay_out, upgrade");
    p.target = "low-emission zone " + std::string(to_string(p.minimum));
    p.districts = districts_of(r, r.required(body, "districts", field), f("districts"), p.target);
  } else if (kind == "add_source") {
    p.kind = env::env_change_kind::add_source;
    r.only_keys(body, field,
                {"key", "name", "lon", "lat", "district", "stack_height_m", "stack_diameter_m",
                 "exit_velocity_m_s", "exit_temperature_k", "nox_g_s", "pm25_g_s", "co2_g_s"});
    auto& s = p.source;
    s.key = r.text(r.required(body, "key", field), f("key"));
    if (std::find(source_keys.begin(), source_keys.end(), s.key) != source_keys.end())
      r.fail(body["key"], f("key"), "source key " + text::quoted(s.key) + " is already taken");
    if (source_keys.size() >= env::env_sources_max)
      r.fail(body["key"], f("key"),
             "at most " + std::to_string(env::env_sources_max) + " stacks in a variant");
    s.name = body["name"] ? r.text(body["name"], f("name")) : s.key;
    s.position.lon = r.number(r.required(body, "lon", field), f("lon"));
    s.position.lat = r.number(r.required(body, "lat", field), f("lat"));
    if (std::abs(s.position.lon) > 180) r.fail(body["lon"], f("lon"), "must be in [-180, 180]");
    if (std::abs(s.position.lat) > 90) r.fail(body["lat"], f("lat"), "must be in [-90, 90]");
    if (body["district"]) {
      s.district = r.district(body["district"], f("district"));
    } else {
      bool found = false;
      for (const auto& d : c.districts)
        if (contains(d.area, s.position)) {
          s.district = d.id;
          found = true;
          break;
        }
      if (!found)
        r.fail(body, f("district"),
               "the source lies in no district of city " + text::quoted(c.name) +
                   ": name the district its emissions count in");
    }
    s.stack_height_m =
        r.non_negative(r.required(body, "stack_height_m", field), f("stack_height_m"));
    s.stack_diameter_m =
        r.positive(r.required(body, "stack_diameter_m", field), f("stack_diameter_m"));
    s.exit_velocity_m_s =
        r.non_negative(r.required(body, "exit_velocity_m_s", field), f("exit_velocity_m_s"));
    s.exit_temperature_k =
        r.positive(r.required(body, "exit_temperature_k", field), f("exit_temperature_k"));
    s.nox_g_s = body["nox_g_s"] ? r.non_negative(body["nox_g_s"], f("nox_g_s")) : 0;
    s.pm25_g_s = body["pm25_g_s"] ? r.non_negative(body["pm25_g_s"], f("pm25_g_s")) : 0;
    s.co2_g_s = body["co2_g_s"] ? r.non_negative(body["co2_g_s"], f("co2_g_s")) : 0;
    source_keys.push_back(s.key);
    p.key = s.key;
    p.target = "source " + s.key + " (new)";
  } else if (kind == "remove_source") {
    p.kind = env::env_change_kind::remove_source;
    r.only_keys(body, field, {"key"});
    p.key = known_source(r.required(body, "key", field), f("key"));
    std::erase(source_keys, p.key);
    p.target = "source " + p.key + " removed";
  } else {
    p.kind = env::env_change_kind::source;
    r.only_keys(body, field, {"key", "factor"});
    p.key = known_source(r.required(body, "key", field), f("key"));
    p.factor = r.non_negative(r.required(body, "factor", field), f("factor"));
    p.target = "source " + p.key;
  }
  return p;
}

YAML::Node read_yaml(const fs::path& file) {
  try {
    return YAML::LoadFile(file.string());
  } catch (const YAML::BadFile&) {
    throw load_failure{load_error{file.string(), 0, "", "cannot open file"}};
  } catch (const YAML::ParserException& e) {
    throw load_failure{load_error{file.string(), e.mark.line >= 0 ? e.mark.line + 1u : 0u, "",
                                  "malformed YAML: " + e.msg}};
  }
}

// The top-level keys and the base folder: what is needed before the base city is loaded.
fs::path read_base(const YAML::Node& root, const fs::path& file, const spec_reader& r) {
  if (!root.IsMap()) r.fail(root, "", "expected a map of scenario settings");
  r.only_keys(root, "",
              {"scenario", "title", "description", "base", "assignment", "value_of_time_per_h",
               "report", "variants", "environment"});
  YAML::Node base = r.map(root, "base", "", true);
  r.only_keys(base, "base", {"city", "node", "snapshot", "capacity_tolerance"});
  if (base["snapshot"])
    r.fail(base["snapshot"], "base.snapshot",
           "a saved snapshot as the base is not supported yet: use base: { city: FOLDER }");
  if (!base["city"])
    r.fail(base, "base.city",
           "missing: the city bundle folder (a live base needs it too: it gives the network)");
  fs::path dir = r.text(base["city"], "base.city");
  return dir.is_absolute() ? dir : file.parent_path() / dir;
}

scenario_spec read_spec(const YAML::Node& root, const fs::path& file, spec_reader& r) {
  scenario_spec s;
  s.file = file;
  s.base_city = read_base(root, file, r);
  if (YAML::Node node = root["base"]["node"]) {
    s.base_node = r.text(node, "base.node");
    if (s.base_node.find("://") == std::string::npos)
      r.fail(node, "base.node",
             text::quoted(s.base_node) + " is not a node address such as tcp://127.0.0.1:7101");
  }
  if (!root["scenario"]) r.fail(root, "scenario", "missing: the scenario's name");
  s.name = r.text(root["scenario"], "scenario");
  for (char ch : s.name)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.'))
      r.fail(root["scenario"], "scenario",
             "use letters, digits, '-', '_' and '.' only (it names the output folder)");
  s.title = root["title"] ? r.text(root["title"], "title") : s.name;
  if (YAML::Node a = r.map(root, "assignment", "", false)) {
    r.only_keys(a, "assignment", {"gap", "iterations_max"});
    if (a["gap"]) {
      s.relative_gap = r.positive(a["gap"], "assignment.gap");
      if (s.relative_gap >= 1) r.fail(a["gap"], "assignment.gap", "must be below 1");
    }
    if (a["iterations_max"])
      s.iterations_max = r.whole(a["iterations_max"], "assignment.iterations_max", 1, 100000);
  }
  if (root["value_of_time_per_h"])
    s.value_of_time_per_h = r.positive(root["value_of_time_per_h"], "value_of_time_per_h");
  if (YAML::Node rep = r.map(root, "report", "", false)) {
    r.only_keys(rep, "report", {"top"});
    if (rep["top"]) s.top = r.whole(rep["top"], "report.top", 1, scenario_top_max);
  }
  read_environment(r, root, r.base_city(), s);
  YAML::Node variants = root["variants"];
  if (!variants) r.fail(root, "variants", "missing: at least one variant");
  if (!variants.IsSequence() || variants.size() == 0)
    r.fail(variants, "variants", "expected a non-empty list of variants");
  if (variants.size() > scenario_variants_max)
    r.fail(variants, "variants",
           "at most " + std::to_string(scenario_variants_max) + " variants per scenario");
  std::vector<std::string> new_keys;
  for (std::size_t i = 0; i < variants.size(); ++i) {
    const YAML::Node v = variants[i];
    const std::string path = "variants[" + std::to_string(i) + "]";
    if (!v.IsMap()) r.fail(v, path, "expected a map with 'name' and 'perturbations'");
    r.only_keys(v, path, {"name", "title", "perturbations"});
    variant_spec vs;
    if (!v["name"]) r.fail(v, path + ".name", "missing");
    vs.name = r.text(v["name"], path + ".name");
    for (const auto& other : s.variants)
      if (other.name == vs.name)
        r.fail(v["name"], path + ".name", "duplicate variant name " + text::quoted(vs.name));
    if (vs.name == "baseline")
      r.fail(v["name"], path + ".name", "'baseline' is the unperturbed network's name");
    for (char ch : vs.name)
      if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.'))
        r.fail(v["name"], path + ".name",
               "use letters, digits, '-', '_' and '.' only (it names an output file)");
    vs.title = v["title"] ? r.text(v["title"], path + ".title") : vs.name;
    YAML::Node list = v["perturbations"];
    if (!list) r.fail(v, path + ".perturbations", "missing");
    if (!list.IsSequence()) r.fail(list, path + ".perturbations", "expected a list");
    if (list.size() > scenario_perturbations_max)
      r.fail(list, path + ".perturbations",
             "at most " + std::to_string(scenario_perturbations_max) + " perturbations");
    new_keys.clear();
    std::vector<std::string> source_keys;
    for (const auto& src : r.base_city().sources) source_keys.push_back(src.key);
    for (std::size_t j = 0; j < list.size(); ++j) {
      const auto item_path = path + ".perturbations[" + std::to_string(j) + "]";
      const YAML::Node item = list[j];
      if (item.IsMap() && item.size() == 1 &&
          is_environmental(item.begin()->first.as<std::string>()))
        vs.environment.push_back(
            read_env_perturbation(r, r.base_city(), item, item_path, source_keys));
      else
        vs.perturbations.push_back(r.read_perturbation(item, item_path, s, new_keys));
    }
    if (!vs.environment.empty()) s.environment.enabled = true;
    s.variants.push_back(std::move(vs));
  }
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
    spec_reader r(file.string(), base);
    return read_spec(read_yaml(file), file, r);
  });
}

expected<scenario, load_error> load_scenario(const fs::path& file) {
  return guarded(file, [&]() -> expected<scenario, load_error> {
    YAML::Node root = read_yaml(file);
    const city none;
    spec_reader early(file.string(), none);
    auto dir = read_base(root, file, early);
    if (!fs::is_directory(dir))
      early.fail(root["base"]["city"], "base.city", "no city bundle folder at " + dir.string());
    auto c = load_city(dir);
    if (!c) return unexpected{c.error()};
    scenario s;
    s.base = std::move(*c);
    spec_reader r(file.string(), s.base);
    s.spec = read_spec(root, file, r);
    if (YAML::Node tolerance = root["base"]["capacity_tolerance"])
      s.live_options.capacity_tolerance = fraction(r, tolerance, "base.capacity_tolerance");
    return s;
  });
}

expected<bool, live_base_error> attach_live_base(scenario& s, live_snapshot live) {
  if (auto ok = check_live_snapshot(s.base, live); !ok) return unexpected{ok.error()};
  s.spec.base_node = live.node;
  s.live = std::move(live);
  return true;
}

}  // namespace twin
