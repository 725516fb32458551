#include "twin/scenario.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <queue>
#include <unordered_map>

#include "twin/assignment.hpp"
#include "twin/csv.hpp"
#include "twin/geo.hpp"

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

// Thrown inside the loader only, caught in load_scenario*: the file is the boundary.
struct spec_failure {
  load_error error;
};

std::string in_quotes(std::string_view s) {
  return "'" + std::string(s) + "'";
}

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

  [[noreturn]] void fail(const YAML::Node& at, const std::string& field,
                         std::string message) const {
    throw spec_failure{load_error{file_, line_of(at), field, std::move(message)}};
  }

  void only_keys(const YAML::Node& map, const std::string& path,
                 std::initializer_list<std::string_view> known) const {
    for (const auto& kv : map) {
      auto key = kv.first.as<std::string>();
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      std::string list;
      for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      fail(kv.first, join(path, key), "unknown key " + in_quotes(key) + " (known: " + list + ")");
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
    if (!v) fail(n, field, in_quotes(s) + " is not a finite number");
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
           in_quotes(n.as<std::string>()) + " is not a whole number in [" + std::to_string(min) +
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
           "unknown node " + std::to_string(number) + " in city " + in_quotes(city_.name));
    return it->second;
  }

  zone_id zone(const YAML::Node& n, const std::string& field) const {
    auto number = whole(n, field, 0, std::numeric_limits<std::uint32_t>::max());
    auto it = zone_by_number_.find(number);
    if (it == zone_by_number_.end())
      fail(n, field,
           "unknown zone " + std::to_string(number) + " in city " + in_quotes(city_.name));
    return it->second;
  }

  district_id district(const YAML::Node& n, const std::string& field) const {
    auto key = text(n, field);
    auto d = city_.find_district(key);
    if (!d)
      fail(n, field, "unknown district " + in_quotes(key) + " in city " + in_quotes(city_.name));
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
          fail(k, field, "unknown link " + in_quotes(key) + " in city " + in_quotes(city_.name));
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
             "no link is named " + in_quotes(name) + " in city " + in_quotes(city_.name));
      p.target = "bridge " + in_quotes(name);
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
           "speed, demand, add_link, toll)");
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
             "link key " + in_quotes(a.key) + " is already taken");
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
           "unknown perturbation " + in_quotes(kind) +
               " (known: close, capacity, speed, demand, add_link, toll)");
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

YAML::Node read_yaml(const fs::path& file) {
  try {
    return YAML::LoadFile(file.string());
  } catch (const YAML::BadFile&) {
    throw spec_failure{load_error{file.string(), 0, "", "cannot open file"}};
  } catch (const YAML::ParserException& e) {
    throw spec_failure{load_error{file.string(), e.mark.line >= 0 ? e.mark.line + 1u : 0u, "",
                                  "malformed YAML: " + e.msg}};
  }
}

// The top-level keys and the base folder: what is needed before the base city is loaded.
fs::path read_base(const YAML::Node& root, const fs::path& file, const spec_reader& r) {
  if (!root.IsMap()) r.fail(root, "", "expected a map of scenario settings");
  r.only_keys(root, "",
              {"scenario", "title", "description", "base", "assignment", "value_of_time_per_h",
               "report", "variants"});
  YAML::Node base = r.map(root, "base", "", true);
  r.only_keys(base, "base", {"city", "node", "snapshot"});
  if (base["node"])
    r.fail(base["node"], "base.node",
           "forking the live twin of a node is not supported yet: use base: { city: FOLDER }");
  if (base["snapshot"])
    r.fail(base["snapshot"], "base.snapshot",
           "a saved snapshot as the base is not supported yet: use base: { city: FOLDER }");
  if (!base["city"]) r.fail(base, "base.city", "missing: the city bundle folder");
  fs::path dir = r.text(base["city"], "base.city");
  return dir.is_absolute() ? dir : file.parent_path() / dir;
}

scenario_spec read_spec(const YAML::Node& root, const fs::path& file, spec_reader& r) {
  scenario_spec s;
  s.file = file;
  s.base_city = read_base(root, file, r);
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
        r.fail(v["name"], path + ".name", "duplicate variant name " + in_quotes(vs.name));
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
    for (std::size_t j = 0; j < list.size(); ++j)
      vs.perturbations.push_back(r.read_perturbation(
          list[j], path + ".perturbations[" + std::to_string(j) + "]", s, new_keys));
    s.variants.push_back(std::move(vs));
  }
  return s;
}

template <class F>
auto guarded(const fs::path& file, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const spec_failure& e) {
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
    scenario s{{}, std::move(*c)};
    spec_reader r(file.string(), s.base);
    s.spec = read_spec(root, file, r);
    return s;
  });
}

// ---------------------------------------------------------------------------------------------
// Running.

namespace {

// A city (and a variant's perturbations) as the engine's network and demand.
struct model {
  std::vector<link_result> links;  // capacity, free speed, toll, closed: before solving
  std::vector<double> length_m;
  std::vector<district_id> district;
  std::vector<assign::link_spec> specs;
  std::vector<double> trips;  // per city.demand entry, perturbed
};

double free_flow_min(double length_m, double speed_kmh) {
  return length_m / 1000.0 / speed_kmh * 60.0;
}

bool matches(const perturbation& p, const city& c, const od_demand& od) {
  auto has = [](const auto& list, auto id) {
    return list.empty() || std::find(list.begin(), list.end(), id) != list.end();
  };
  return has(p.from_zones, od.from) && has(p.to_zones, od.to) &&
         has(p.from_districts, c.zones[od.from.value].district) &&
         has(p.to_districts, c.zones[od.to.value].district);
}

model build_model(const city& c, const variant_spec* v, std::vector<new_link>& added) {
  model m;
  const std::size_t n = c.links.size();
  for (const auto& l : c.links) {
    link_result r;
    r.capacity_veh_h = l.capacity_veh_h;
    r.free_speed_kmh = l.free_speed_kmh;
    m.links.push_back(r);
    m.length_m.push_back(l.length_m);
    m.district.push_back(l.district);
  }
  m.trips.reserve(c.demand.size());
  for (const auto& od : c.demand) m.trips.push_back(od.trips_veh_h);
  if (v) {
    for (const auto& p : v->perturbations) {
      switch (p.kind) {
        case perturbation_kind::close:
          for (auto l : p.links) m.links[l.value].closed = true;
          break;
        case perturbation_kind::capacity:
          for (auto l : p.links) m.links[l.value].capacity_veh_h *= p.factor;
          break;
        case perturbation_kind::speed:
          for (auto l : p.links)
            m.links[l.value].free_speed_kmh =
                p.free_speed_kmh ? *p.free_speed_kmh : m.links[l.value].free_speed_kmh * p.factor;
          break;
        case perturbation_kind::toll:
          for (auto l : p.links) m.links[l.value].toll = p.toll;
          break;
        case perturbation_kind::demand:
          for (std::size_t i = 0; i < c.demand.size(); ++i)
            if (matches(p, c, c.demand[i])) m.trips[i] *= p.factor;
          break;
        case perturbation_kind::add_link: {
          link_result r;
          r.capacity_veh_h = p.added.capacity_veh_h;
          r.free_speed_kmh = p.added.free_speed_kmh;
          m.links.push_back(r);
          m.length_m.push_back(p.added.length_m);
          m.district.push_back(p.added.district);
          added.push_back(p.added);
          break;
        }
      }
    }
  }
  for (std::size_t l = 0; l < m.links.size(); ++l) {
    auto& r = m.links[l];
    if (r.capacity_veh_h <= 0) r.closed = true;
    if (r.closed) r.capacity_veh_h = 0;
    assign::link_spec s;
    if (l < n) {
      s.from = c.links[l].from.value;
      s.to = c.links[l].to.value;
    } else {
      s.from = added[l - n].from.value;
      s.to = added[l - n].to.value;
    }
    s.capacity = r.capacity_veh_h;
    s.free_flow_time = free_flow_min(m.length_m[l], r.free_speed_kmh);
    s.b = bpr_b;
    s.power = bpr_power;
    s.toll = r.toll;
    s.length = m.length_m[l];
    m.specs.push_back(s);
  }
  return m;
}

// Cheapest paths from one node at the equilibrium's generalized costs, with the travel time along
// them. Ties are broken by node index, so the result is deterministic.
void cheapest_from(const assign::network& net, std::span<const double> cost,
                   std::span<const double> time, assign::node_index origin,
                   std::vector<double>& best, std::vector<double>& time_to) {
  const double inf = std::numeric_limits<double>::infinity();
  best.assign(net.node_count(), inf);
  time_to.assign(net.node_count(), inf);
  using entry = std::pair<double, assign::node_index>;
  std::priority_queue<entry, std::vector<entry>, std::greater<>> queue;
  best[origin] = 0;
  time_to[origin] = 0;
  queue.push({0.0, origin});
  while (!queue.empty()) {
    auto [d, i] = queue.top();
    queue.pop();
    if (d > best[i]) continue;
    for (auto l : net.out_links(i)) {
      if (net.closed(l)) continue;
      const auto j = net.to(l);
      const double nd = d + cost[l];
      if (nd < best[j]) {
        best[j] = nd;
        time_to[j] = time_to[i] + time[l];
        queue.push({nd, j});
      }
    }
  }
}

void add(measures& m, double flow, double length_m, double time_min, double free_min) {
  m.vkt += flow * length_m / 1000.0;
  m.vht += flow * time_min / 60.0;
  m.free_flow_vht += flow * free_min / 60.0;
}

void finish(measures& m) {
  m.mean_speed_kmh = m.vht > 0 ? m.vkt / m.vht : 0;
  m.congestion = m.free_flow_vht > 0 ? m.vht / m.free_flow_vht - 1 : 0;
}

struct solved {
  network_result result;
  assign::solution solution;
};

solved solve_model(const city& c, const model& m, const scenario_spec& spec,
                   const run_options& options, const assign::solution* warm) {
  assign::cost_weights weights;
  if (spec.value_of_time_per_h > 0) weights.toll_factor = 60.0 / spec.value_of_time_per_h;
  // Closed links keep their index with capacity 0, so that the network keeps its shape and a
  // variant with closures can still warm-start from the baseline.
  auto net =
      assign::network::build(static_cast<std::uint32_t>(c.nodes.size()), 0, m.specs, weights);
  if (!net) TWIN_CHECK_OP(net.error(), ==, std::string{});
  std::vector<assign::od_flow> flows;
  for (std::size_t i = 0; i < c.demand.size(); ++i) {
    const auto& od = c.demand[i];
    if (!(m.trips[i] > 0)) continue;
    flows.push_back(
        {c.zones[od.from.value].centroid.value, c.zones[od.to.value].centroid.value, m.trips[i]});
  }
  auto trips = assign::demand::build(*net, flows);
  if (!trips) TWIN_CHECK_OP(trips.error(), ==, std::string{});

  assign::solver_options so;
  so.relative_gap_target = options.relative_gap ? *options.relative_gap : spec.relative_gap;
  so.iterations_max = spec.iterations_max;
  so.workers = 1;

  solved out;
  const auto start = std::chrono::steady_clock::now();
  if (options.solver) {
    // Zones without a known district share one extra part.
    const auto no_district = static_cast<std::uint32_t>(c.districts.size());
    std::vector<std::uint32_t> district_of_node(c.nodes.size(), no_district);
    for (const auto& z : c.zones)
      if (z.district.value < no_district) district_of_node[z.centroid.value] = z.district.value;
    std::vector<std::uint32_t> part_of_origin(trips->origin_count());
    for (std::uint32_t o = 0; o < trips->origin_count(); ++o)
      part_of_origin[o] = district_of_node[trips->origin(o)];
    out.solution = options.solver(*net, *trips, so, std::move(part_of_origin), warm);
  } else {
    out.solution = assign::solve(*net, *trips, so, warm);
  }
  auto& r = out.result;
  r.solve_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  const auto& sol = out.solution;
  r.iterations = sol.iterations;
  r.relative_gap = sol.relative_gap;
  r.gap_reached = sol.stop == assign::stop_reason::gap_reached;
  r.warm_started = sol.warm_started;
  r.tstt_veh_h = sol.tstt / 60.0;
  r.intrazonal_veh_h = sol.intrazonal_flow;

  r.links = m.links;
  r.districts.assign(c.districts.size(), measures{});
  std::vector<double> time(m.links.size(), 0);
  for (std::size_t l = 0; l < m.links.size(); ++l) {
    auto& lr = r.links[l];
    const double free_min = m.specs[l].free_flow_time;
    lr.flow_veh_h = lr.closed ? 0 : sol.link_flow[l];
    if (lr.closed) {
      lr.time_min = free_min;
      lr.vc = 0;
    } else {
      const double ratio = lr.flow_veh_h / lr.capacity_veh_h;
      lr.time_min = free_min * (1 + bpr_b * std::pow(ratio, bpr_power));
      lr.vc = ratio;
    }
    lr.speed_kmh = m.length_m[l] / 1000.0 / (lr.time_min / 60.0);
    time[l] = lr.time_min;
    add(r.city, lr.flow_veh_h, m.length_m[l], lr.time_min, free_min);
    if (m.district[l].valid() && m.district[l].value < r.districts.size())
      add(r.districts[m.district[l].value], lr.flow_veh_h, m.length_m[l], lr.time_min, free_min);
  }
  finish(r.city);
  for (auto& d : r.districts) finish(d);

  // Travel time per OD pair, and the pairs a closure cut off.
  std::map<std::uint32_t, std::vector<std::size_t>> by_origin;
  for (std::size_t i = 0; i < c.demand.size(); ++i)
    if (m.trips[i] > 0) by_origin[c.zones[c.demand[i].from.value].centroid.value].push_back(i);
  std::vector<od_result> od(c.demand.size());
  std::vector<double> best, time_to;
  for (const auto& [origin, entries] : by_origin) {
    cheapest_from(*net, sol.link_cost, time, origin, best, time_to);
    for (auto i : entries) {
      const auto& d = c.demand[i];
      od[i] = {d.from, d.to, m.trips[i], std::nullopt};
      const auto dest = c.zones[d.to.value].centroid.value;
      if (std::isfinite(best[dest])) od[i].time_min = time_to[dest];
    }
  }
  for (std::size_t i = 0; i < c.demand.size(); ++i) {
    if (!(m.trips[i] > 0)) continue;
    r.demand_veh_h += m.trips[i];
    r.od.push_back(od[i]);
    if (!od[i].time_min) {
      r.disconnected.push_back(od[i]);
      r.unassigned_veh_h += m.trips[i];
    }
  }
  auto by_pair = [&](const od_result& a, const od_result& b) {
    return std::pair(c.zones[a.from.value].number, c.zones[a.to.value].number) <
           std::pair(c.zones[b.from.value].number, c.zones[b.to.value].number);
  };
  std::sort(r.od.begin(), r.od.end(), by_pair);
  std::sort(r.disconnected.begin(), r.disconnected.end(), by_pair);
  return out;
}

}  // namespace

scenario_result run_scenario(const scenario& s, const run_options& options) {
  scenario_result out;
  std::vector<new_link> none;
  const model base_model = build_model(s.base, nullptr, none);
  auto base = solve_model(s.base, base_model, s.spec, options, nullptr);
  out.baseline = std::move(base.result);
  for (const auto& v : s.spec.variants) {
    variant_result vr;
    vr.name = v.name;
    vr.title = v.title;
    const model m = build_model(s.base, &v, vr.added);
    // New links change the network's shape: the baseline's bushes no longer fit.
    const assign::solution* warm = vr.added.empty() ? &base.solution : nullptr;
    vr.result = solve_model(s.base, m, s.spec, options, warm).result;
    out.variants.push_back(std::move(vr));
  }
  return out;
}

std::vector<link_change> most_affected_links(const network_result& baseline,
                                             const variant_result& v, std::size_t count) {
  std::vector<link_change> all;
  for (std::size_t l = 0; l < v.result.links.size(); ++l) {
    const auto& now = v.result.links[l];
    link_change ch{link_id{static_cast<std::uint32_t>(l)}, now.flow_veh_h, 0};
    if (l < baseline.links.size()) {
      const auto& before = baseline.links[l];
      ch.delta_flow_veh_h = now.flow_veh_h - before.flow_veh_h;
      if (!now.closed && !before.closed) ch.delta_time_min = now.time_min - before.time_min;
    }
    all.push_back(ch);
  }
  std::stable_sort(all.begin(), all.end(), [](const link_change& a, const link_change& b) {
    return std::abs(a.delta_flow_veh_h) > std::abs(b.delta_flow_veh_h);
  });
  if (all.size() > count) all.resize(count);
  return all;
}

std::vector<od_change> most_affected_od(const network_result& baseline, const variant_result& v,
                                        std::size_t count) {
  std::map<std::pair<std::uint32_t, std::uint32_t>, double> before;
  for (const auto& od : baseline.od)
    if (od.time_min) before[{od.from.value, od.to.value}] = *od.time_min;
  std::vector<od_change> all;
  for (const auto& od : v.result.od) {
    auto it = before.find({od.from.value, od.to.value});
    if (!od.time_min || it == before.end()) continue;
    all.push_back(
        {od.from, od.to, od.trips_veh_h, it->second, *od.time_min, *od.time_min - it->second});
  }
  std::stable_sort(all.begin(), all.end(), [](const od_change& a, const od_change& b) {
    return std::abs(a.delta_time_min) > std::abs(b.delta_time_min);
  });
  if (all.size() > count) all.resize(count);
  return all;
}

link_info describe_link(const city& c, const variant_result* v, std::size_t l) {
  if (l < c.links.size()) {
    const auto& k = c.links[l];
    return {k.key, k.name, k.from, k.to, k.length_m, k.district};
  }
  TWIN_CHECK(v != nullptr);
  TWIN_CHECK_OP(l - c.links.size(), <, v->added.size());
  const auto& a = v->added[l - c.links.size()];
  return {a.key, a.name, a.from, a.to, a.length_m, a.district};
}

}  // namespace twin
