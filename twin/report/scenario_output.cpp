#include "twin/report/scenario_output.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "twin/base/text.hpp"
#include "twin/report/env_output.hpp"

namespace twin {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using text::clip;
using text::csv_field;
using text::fixed;
using text::label_value;
using text::metric_number;
using text::pad;
using text::signed_fixed;
using text::xml;

// Percentage change, or empty when the baseline is zero.
std::string percent(double before, double after) {
  if (before == 0) return "";
  return signed_fixed(100.0 * (after - before) / before, 1) + "%";
}

json pct_or_null(double before, double after) {
  if (before == 0) return nullptr;
  return 100.0 * (after - before) / before;
}

std::string zone_label(const city& c, zone_id z) {
  return std::to_string(c.zones[z.value].number);
}

const link_result* baseline_link(const scenario_result& r, std::size_t l) {
  return l < r.baseline.links.size() ? &r.baseline.links[l] : nullptr;
}

json measures_json(const measures& m) {
  return {{"vkt", m.vkt},
          {"vht", m.vht},
          {"free_flow_vht", m.free_flow_vht},
          {"mean_speed_kmh", m.mean_speed_kmh},
          {"congestion", m.congestion}};
}

json totals_json(const network_result& n) {
  auto j = measures_json(n.city);
  j["tstt_veh_h"] = n.tstt_veh_h;
  j["demand_veh_h"] = n.demand_veh_h;
  j["unassigned_veh_h"] = n.unassigned_veh_h;
  j["intrazonal_veh_h"] = n.intrazonal_veh_h;
  return j;
}

// A variant with environmental changes only carries the baseline's traffic, not a solve of its own.
bool traffic_reused(const variant_result& v) {
  return v.result.environment && v.result.environment->traffic_reused;
}

json solver_json(const network_result& n) {
  return {{"iterations", n.iterations},
          {"relative_gap", n.relative_gap},
          {"gap_reached", n.gap_reached},
          {"warm_started", n.warm_started},
          {"solve_ms", n.solve_ms}};
}

json disconnected_json(const city& c, const network_result& n) {
  json pairs = json::array();
  for (const auto& od : n.disconnected)
    pairs.push_back({{"from_zone", c.zones[od.from.value].number},
                     {"to_zone", c.zones[od.to.value].number},
                     {"trips_veh_h", od.trips_veh_h}});
  return {{"pairs", n.disconnected.size()},
          {"unassigned_veh_h", n.unassigned_veh_h},
          {"od", std::move(pairs)}};
}

json link_json(const city& c, const variant_result* v, std::size_t l, const link_result& now,
               const link_result* before) {
  const auto info = describe_link(c, v, l);
  json j{{"key", info.key},
         {"flow_veh_h", now.flow_veh_h},
         {"speed_kmh", now.closed ? json(nullptr) : json(now.speed_kmh)},
         {"vc", now.vc},
         {"time_min", now.closed ? json(nullptr) : json(now.time_min)},
         {"closed", now.closed}};
  if (now.toll > 0) j["toll"] = now.toll;
  if (v) {
    j["delta_flow_veh_h"] = now.flow_veh_h - (before ? before->flow_veh_h : 0.0);
    j["delta_time_min"] = (before && !before->closed && !now.closed)
                              ? json(now.time_min - before->time_min)
                              : json(nullptr);
  }
  return j;
}

json perturbation_json(const city& c, const perturbation& p) {
  json j{{"kind", to_string(p.kind)}, {"target", p.target}, {"line", p.line}};
  switch (p.kind) {
    case perturbation_kind::close:
      j["links"] = p.links.size();
      break;
    case perturbation_kind::capacity:
      j["links"] = p.links.size();
      j["factor"] = p.factor;
      break;
    case perturbation_kind::speed:
      j["links"] = p.links.size();
      if (p.free_speed_kmh)
        j["free_speed_kmh"] = *p.free_speed_kmh;
      else
        j["factor"] = p.factor;
      break;
    case perturbation_kind::demand:
      j["factor"] = p.factor;
      break;
    case perturbation_kind::toll:
      j["links"] = p.links.size();
      j["toll"] = p.toll;
      break;
    case perturbation_kind::add_link:
      j["key"] = p.added.key;
      j["from_node"] = c.nodes[p.added.from.value].number;
      j["to_node"] = c.nodes[p.added.to.value].number;
      j["length_m"] = p.added.length_m;
      j["capacity_veh_h"] = p.added.capacity_veh_h;
      j["free_speed_kmh"] = p.added.free_speed_kmh;
      break;
  }
  return j;
}

std::string warning_text(const network_result& n) {
  if (n.disconnected.empty()) return {};
  return std::to_string(n.disconnected.size()) +
         " OD pair(s) disconnected: " + fixed(n.unassigned_veh_h, 1) +
         " veh/h of demand cannot be assigned";
}

}  // namespace

// "2026-11-21T07:52:31.123Z": the live base's as-of time, readable beside its milliseconds.
std::string utc_text(time_ms t) {
  const std::time_t seconds = static_cast<std::time_t>(t / 1000 - (t % 1000 < 0 ? 1 : 0));
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(((t % 1000) + 1000) % 1000));
  return buf;
}

json live_base_json(const scenario& s, const live_base_report& lb) {
  json cuts = json::array();
  for (std::size_t i = 0; i < lb.cuts.size() && i < s.spec.top; ++i) {
    const auto& cut = lb.cuts[i];
    const auto& l = s.base.links[cut.link.value];
    cuts.push_back({{"key", l.key},
                    {"name", l.name},
                    {"observed_speed_kmh", cut.observed_speed_kmh},
                    {"observed_flow_veh_h", cut.observed_flow_veh_h},
                    {"free_speed_kmh", l.free_speed_kmh},
                    {"bundle_capacity_veh_h", cut.bundle_capacity_veh_h},
                    {"inferred_capacity_veh_h", cut.inferred_capacity_veh_h},
                    {"capacity_veh_h", cut.capacity_veh_h},
                    {"at_floor", cut.at_floor}});
  }
  json demand;
  demand["factor"] = lb.demand_factor ? json(*lb.demand_factor) : json(nullptr);
  demand["fit"] = std::isfinite(lb.demand_factor_fit) ? json(lb.demand_factor_fit) : json(nullptr);
  demand["links"] = lb.demand_links;
  demand["clamped"] = lb.demand_clamped;
  demand["range"] = {lb.demand_factor_min, lb.demand_factor_max};
  auto optional_value = [](const std::optional<double>& v) { return v ? json(*v) : json(nullptr); };
  json environment = {{"sensors", lb.environment_sensors},
                      {"pm25_ug_m3", optional_value(lb.pm25_ug_m3)},
                      {"no2_ug_m3", optional_value(lb.no2_ug_m3)},
                      {"wind_speed_m_s", optional_value(lb.wind_speed_m_s)},
                      {"wind_from_deg", optional_value(lb.wind_from_deg)}};
  return {{"node", lb.node},
          {"city", lb.city_name},
          {"as_of_ms", lb.as_of},
          {"as_of", utc_text(lb.as_of)},
          {"stale_after_ms", lb.stale_after_ms},
          {"links_observed", lb.links_observed},
          {"links_stale", lb.links_stale},
          {"capacities_cut", lb.cuts.size()},
          {"capacity_tolerance", lb.capacity_tolerance},
          {"links_within_tolerance", lb.links_within_tolerance},
          {"capacity_cuts", std::move(cuts)},
          {"demand", std::move(demand)},
          {"environment", std::move(environment)}};
}

// ---------------------------------------------------------------------------------------------

std::string summary_json(const scenario& s, const scenario_result& r) {
  const city& c = s.base;
  json j;
  j["scenario"] = s.spec.name;
  j["title"] = s.spec.title;
  j["base"] = {{"city", c.name}};
  if (r.live_base) {
    j["base"]["node"] = r.live_base->node;
    j["live_base"] = live_base_json(s, *r.live_base);
  }
  j["model"] = {{"cost", "BPR: free_flow_time * (1 + b * (flow / capacity)^power)"},
                {"bpr_b", bpr_b},
                {"bpr_power", bpr_power},
                {"demand", "bundle OD matrix, veh/h for its period"},
                {"value_of_time_per_h", s.spec.value_of_time_per_h},
                {"relative_gap_target", s.spec.relative_gap}};
  auto districts = [&](const network_result& n, const network_result* before) {
    json list = json::array();
    for (std::size_t d = 0; d < c.districts.size(); ++d) {
      json e = measures_json(n.districts[d]);
      e["key"] = c.districts[d].key;
      e["name"] = c.districts[d].name;
      if (before) {
        const auto& b = before->districts[d];
        e["delta"] = {{"vkt", n.districts[d].vkt - b.vkt},
                      {"vht", n.districts[d].vht - b.vht},
                      {"mean_speed_kmh", n.districts[d].mean_speed_kmh - b.mean_speed_kmh},
                      {"congestion", n.districts[d].congestion - b.congestion}};
      }
      list.push_back(std::move(e));
    }
    return list;
  };
  {
    json b;
    b["totals"] = totals_json(r.baseline);
    b["solver"] = solver_json(r.baseline);
    b["districts"] = districts(r.baseline, nullptr);
    b["disconnected"] = disconnected_json(c, r.baseline);
    json links = json::array();
    for (std::size_t l = 0; l < r.baseline.links.size(); ++l)
      links.push_back(link_json(c, nullptr, l, r.baseline.links[l], nullptr));
    b["links"] = std::move(links);
    j["baseline"] = std::move(b);
  }
  json variants = json::array();
  for (std::size_t vi = 0; vi < r.variants.size(); ++vi) {
    const auto& v = r.variants[vi];
    const auto& n = v.result;
    json e;
    e["name"] = v.name;
    e["title"] = v.title;
    json ps = json::array();
    for (const auto& p : s.spec.variants[vi].perturbations) ps.push_back(perturbation_json(c, p));
    e["perturbations"] = std::move(ps);
    e["totals"] = totals_json(n);
    const auto& bt = r.baseline;
    e["delta"] = {{"vkt", n.city.vkt - bt.city.vkt},
                  {"vht", n.city.vht - bt.city.vht},
                  {"mean_speed_kmh", n.city.mean_speed_kmh - bt.city.mean_speed_kmh},
                  {"congestion", n.city.congestion - bt.city.congestion},
                  {"tstt_veh_h", n.tstt_veh_h - bt.tstt_veh_h},
                  {"unassigned_veh_h", n.unassigned_veh_h - bt.unassigned_veh_h}};
    e["delta_percent"] = {
        {"vkt", pct_or_null(bt.city.vkt, n.city.vkt)},
        {"vht", pct_or_null(bt.city.vht, n.city.vht)},
        {"mean_speed_kmh", pct_or_null(bt.city.mean_speed_kmh, n.city.mean_speed_kmh)},
        {"tstt_veh_h", pct_or_null(bt.tstt_veh_h, n.tstt_veh_h)}};
    e["solver"] = solver_json(n);
    e["traffic_reused"] = traffic_reused(v);
    e["disconnected"] = disconnected_json(c, n);
    if (auto w = warning_text(n); !w.empty()) e["warning"] = w;
    e["districts"] = districts(n, &r.baseline);
    json top = json::array();
    for (const auto& ch : most_affected_links(r.baseline, v, s.spec.top)) {
      const auto info = describe_link(c, &v, ch.link.value);
      top.push_back({{"key", info.key},
                     {"name", info.name},
                     {"flow_veh_h", n.links[ch.link.value].flow_veh_h},
                     {"delta_flow_veh_h", ch.delta_flow_veh_h},
                     {"delta_time_min", ch.delta_time_min}});
    }
    e["most_affected_links"] = std::move(top);
    json ods = json::array();
    for (const auto& ch : most_affected_od(r.baseline, v, s.spec.top))
      ods.push_back({{"from_zone", c.zones[ch.from.value].number},
                     {"to_zone", c.zones[ch.to.value].number},
                     {"trips_veh_h", ch.trips_veh_h},
                     {"baseline_time_min", ch.baseline_time_min},
                     {"time_min", ch.time_min},
                     {"delta_time_min", ch.delta_time_min}});
    e["most_affected_od"] = std::move(ods);
    json links = json::array();
    for (std::size_t l = 0; l < n.links.size(); ++l)
      links.push_back(link_json(c, &v, l, n.links[l], baseline_link(r, l)));
    e["links"] = std::move(links);
    variants.push_back(std::move(e));
  }
  j["variants"] = std::move(variants);
  if (r.grid) j["environment"] = env::environment_json(s, r);
  return j.dump(2) + "\n";
}

std::string links_csv(const scenario& s, const scenario_result& r) {
  const city& c = s.base;
  std::ostringstream os;
  os << "variant,key,name,district,from_node,to_node,length_m,closed,capacity_veh_h,flow_veh_h,"
        "speed_kmh,vc,time_min,baseline_flow_veh_h,baseline_speed_kmh,baseline_vc,"
        "baseline_time_min,delta_flow_veh_h,delta_time_min\n";
  for (const auto& v : r.variants) {
    for (std::size_t l = 0; l < v.result.links.size(); ++l) {
      const auto info = describe_link(c, &v, l);
      const auto& now = v.result.links[l];
      const auto* before = baseline_link(r, l);
      os << csv_field(v.name) << ',' << csv_field(info.key) << ',' << csv_field(info.name) << ','
         << csv_field(c.districts[info.district.value].key) << ','
         << c.nodes[info.from.value].number << ',' << c.nodes[info.to.value].number << ','
         << fixed(info.length_m, 1) << ',' << (now.closed ? 1 : 0) << ','
         << fixed(now.capacity_veh_h, 1) << ',' << fixed(now.flow_veh_h, 3) << ','
         << (now.closed ? "" : fixed(now.speed_kmh, 3)) << ',' << fixed(now.vc, 4) << ','
         << (now.closed ? "" : fixed(now.time_min, 4)) << ',';
      if (before) {
        os << fixed(before->flow_veh_h, 3) << ','
           << (before->closed ? "" : fixed(before->speed_kmh, 3)) << ',' << fixed(before->vc, 4)
           << ',' << (before->closed ? "" : fixed(before->time_min, 4)) << ','
           << fixed(now.flow_veh_h - before->flow_veh_h, 3) << ','
           << (now.closed || before->closed ? "" : fixed(now.time_min - before->time_min, 4));
      } else {
        os << ",,,," << fixed(now.flow_veh_h, 3) << ',';
      }
      os << '\n';
    }
  }
  return os.str();
}

std::string districts_csv(const scenario& s, const scenario_result& r) {
  const city& c = s.base;
  std::ostringstream os;
  os << "variant,district,name,vkt,vht,mean_speed_kmh,congestion,baseline_vkt,baseline_vht,"
        "baseline_mean_speed_kmh,baseline_congestion,delta_vkt,delta_vht,delta_mean_speed_kmh,"
        "delta_congestion\n";
  for (const auto& v : r.variants) {
    for (std::size_t d = 0; d < c.districts.size(); ++d) {
      const auto& m = v.result.districts[d];
      const auto& b = r.baseline.districts[d];
      os << csv_field(v.name) << ',' << csv_field(c.districts[d].key) << ','
         << csv_field(c.districts[d].name) << ',' << fixed(m.vkt, 3) << ',' << fixed(m.vht, 4)
         << ',' << fixed(m.mean_speed_kmh, 3) << ',' << fixed(m.congestion, 5) << ','
         << fixed(b.vkt, 3) << ',' << fixed(b.vht, 4) << ',' << fixed(b.mean_speed_kmh, 3) << ','
         << fixed(b.congestion, 5) << ',' << fixed(m.vkt - b.vkt, 3) << ','
         << fixed(m.vht - b.vht, 4) << ',' << fixed(m.mean_speed_kmh - b.mean_speed_kmh, 3) << ','
         << fixed(m.congestion - b.congestion, 5) << '\n';
    }
  }
  return os.str();
}

std::string links_geojson(const scenario& s, const scenario_result& r) {
  const city& c = s.base;
  json features = json::array();
  auto geometry = [&](node_id from, node_id to) {
    const auto& a = c.nodes[from.value].position;
    const auto& b = c.nodes[to.value].position;
    return json{
        {"type", "LineString"},
        {"coordinates", json::array({json::array({a.lon, a.lat}), json::array({b.lon, b.lat})})}};
  };
  for (std::size_t l = 0; l < c.links.size(); ++l) {
    const auto& k = c.links[l];
    const auto& b = r.baseline.links[l];
    json p{{"key", k.key},
           {"name", k.name},
           {"district", c.districts[k.district.value].key},
           {"from_node", c.nodes[k.from.value].number},
           {"to_node", c.nodes[k.to.value].number},
           {"lanes", k.lanes},
           {"capacity_veh_h", k.capacity_veh_h},
           {"flow_baseline", b.flow_veh_h},
           {"vc_baseline", b.vc},
           {"speed_baseline", b.speed_kmh}};
    for (const auto& v : r.variants) {
      const auto& now = v.result.links[l];
      p["flow_" + v.name] = now.flow_veh_h;
      p["delta_flow_" + v.name] = now.flow_veh_h - b.flow_veh_h;
      p["vc_" + v.name] = now.vc;
      p["speed_" + v.name] = now.closed ? json(nullptr) : json(now.speed_kmh);
      p["delta_time_" + v.name] =
          now.closed || b.closed ? json(nullptr) : json(now.time_min - b.time_min);
      p["closed_" + v.name] = now.closed;
    }
    features.push_back(
        {{"type", "Feature"}, {"properties", std::move(p)}, {"geometry", geometry(k.from, k.to)}});
  }
  for (const auto& v : r.variants) {
    for (std::size_t i = 0; i < v.added.size(); ++i) {
      const auto& a = v.added[i];
      const auto& now = v.result.links[c.links.size() + i];
      json p{{"key", a.key},
             {"name", a.name},
             {"district", c.districts[a.district.value].key},
             {"from_node", c.nodes[a.from.value].number},
             {"to_node", c.nodes[a.to.value].number},
             {"lanes", a.lanes},
             {"capacity_veh_h", a.capacity_veh_h},
             {"added_in", v.name},
             {"flow_" + v.name, now.flow_veh_h},
             {"delta_flow_" + v.name, now.flow_veh_h},
             {"vc_" + v.name, now.vc},
             {"speed_" + v.name, now.speed_kmh}};
      features.push_back({{"type", "Feature"},
                          {"properties", std::move(p)},
                          {"geometry", geometry(a.from, a.to)}});
    }
  }
  json fc{{"type", "FeatureCollection"}, {"name", s.spec.name}, {"features", std::move(features)}};
  return fc.dump() + "\n";
}

// ---------------------------------------------------------------------------------------------
// The map.

namespace {

struct projection {
  double lon0 = 0, lat1 = 0, scale = 1, cos_lat = 1, x0 = 0, y0 = 0;
  double x(lon_lat p) const { return x0 + (p.lon - lon0) * cos_lat * scale; }
  double y(lon_lat p) const { return y0 + (lat1 - p.lat) * scale; }
};

// Diverging blue - white - red; t in [-1, 1].
std::string diverging(double t) {
  t = std::clamp(t, -1.0, 1.0);
  struct rgb {
    double r, g, b;
  };
  const rgb blue{33, 102, 172}, white{247, 247, 247}, red{178, 24, 43};
  const rgb& end = t < 0 ? blue : red;
  const double a = std::abs(t);
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x",
                static_cast<int>(std::lround(white.r + (end.r - white.r) * a)),
                static_cast<int>(std::lround(white.g + (end.g - white.g) * a)),
                static_cast<int>(std::lround(white.b + (end.b - white.b) * a)));
  return buf;
}

// A round number at or above v, for the legend's scale: close enough to v that the colours of
// the largest changes stay strong.
double nice_ceiling(double v) {
  if (!(v > 0)) return 1;
  const double p = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0})
    if (m * p >= v) return m * p;
  return 10 * p;
}

// The first `n` code points of a UTF-8 text.
std::string clip_text(const std::string& s, std::size_t n) {
  std::size_t count = 0, i = 0;
  for (; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && count++ == n) break;
  return s.substr(0, i);
}

std::string num(double v) {
  return fixed(v, 1);
}

}  // namespace

std::string variant_svg(const scenario& s, const scenario_result& r, std::size_t vi) {
  TWIN_CHECK_OP(vi, <, r.variants.size());
  const city& c = s.base;
  const auto& v = r.variants[vi];
  const double width = 1000, map_top = 70, map_height = 760, legend_height = 110;
  const double height = map_top + map_height + legend_height;

  // Frame the road network (the district polygons include open water), with a margin.
  double lon_min = 180, lon_max = -180, lat_min = 90, lat_max = -90;
  for (const auto& n : c.nodes) {
    lon_min = std::min(lon_min, n.position.lon);
    lon_max = std::max(lon_max, n.position.lon);
    lat_min = std::min(lat_min, n.position.lat);
    lat_max = std::max(lat_max, n.position.lat);
  }
  if (c.nodes.empty()) lon_min = lon_max = lat_min = lat_max = 0;
  const double pad_lon = std::max(0.08 * (lon_max - lon_min), 0.002);
  const double pad_lat = std::max(0.08 * (lat_max - lat_min), 0.002);
  lon_min -= pad_lon, lon_max += pad_lon, lat_min -= pad_lat, lat_max += pad_lat;
  projection pr;
  pr.cos_lat = std::cos((lat_min + lat_max) / 2 * M_PI / 180);
  pr.scale =
      std::min((width - 40) / ((lon_max - lon_min) * pr.cos_lat), map_height / (lat_max - lat_min));
  pr.lon0 = lon_min;
  pr.lat1 = lat_max;
  pr.x0 = (width - (lon_max - lon_min) * pr.cos_lat * pr.scale) / 2;
  pr.y0 = map_top;

  double flow_max = 0, delta_max = 0;
  for (std::size_t l = 0; l < v.result.links.size(); ++l) {
    const double base = l < r.baseline.links.size() ? r.baseline.links[l].flow_veh_h : 0;
    flow_max = std::max({flow_max, v.result.links[l].flow_veh_h, base});
    delta_max = std::max(delta_max, std::abs(v.result.links[l].flow_veh_h - base));
  }
  const double delta_scale = nice_ceiling(delta_max);
  auto stroke_width = [&](double flow) { return 1.0 + 7.0 * (flow_max > 0 ? flow / flow_max : 0); };

  std::ostringstream os;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
     << "\" viewBox=\"0 0 " << width << ' ' << height
     << "\" font-family=\"DejaVu Sans, Arial, sans-serif\">\n";
  os << "<defs><clipPath id=\"map\"><rect x=\"0\" y=\"" << map_top << "\" width=\"" << width
     << "\" height=\"" << map_height << "\"/></clipPath>\n"
     << "<linearGradient id=\"delta\" x1=\"0\" x2=\"1\" y1=\"0\" y2=\"0\">";
  for (int i = 0; i <= 10; ++i)
    os << "<stop offset=\"" << i * 10 << "%\" stop-color=\"" << diverging(-1 + i * 0.2) << "\"/>";
  os << "</linearGradient></defs>\n";
  os << "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
  os << "<rect x=\"0\" y=\"" << map_top << "\" width=\"" << width << "\" height=\"" << map_height
     << "\" fill=\"#eaf2f8\"/>\n";
  os << "<text x=\"20\" y=\"32\" font-size=\"22\" font-weight=\"bold\">" << xml(s.spec.title)
     << "</text>\n";
  std::string subtitle = c.name + ", variant " + v.name + (v.title != v.name ? ": " + v.title : "");
  if (subtitle.size() > 120) subtitle = clip_text(subtitle, 117) + "...";
  os << "<text x=\"20\" y=\"56\" font-size=\"14\" fill=\"#444\">" << xml(subtitle) << "</text>\n";

  // Districts, faintly, behind the roads; their keys at the mean of their links' midpoints.
  os << "<g clip-path=\"url(#map)\">\n";
  for (const auto& d : c.districts) {
    os << "<path fill=\"#f4f1ea\" fill-opacity=\"0.9\" stroke=\"#b9b2a3\" stroke-width=\"1\" "
          "fill-rule=\"evenodd\" d=\"";
    for (const auto& poly : d.area)
      for (const auto& ring : poly.rings) {
        for (std::size_t i = 0; i < ring.size(); ++i)
          os << (i == 0 ? 'M' : 'L') << fixed(pr.x(ring[i]), 1) << ' ' << fixed(pr.y(ring[i]), 1);
        os << 'Z';
      }
    os << "\"/>\n";
  }
  for (const auto& d : c.districts) {
    const auto& ids = c.links_of(d.id);
    if (ids.empty()) continue;
    double x = 0, y = 0;
    for (auto l : ids) {
      const auto& k = c.links[l.value];
      x += (pr.x(c.nodes[k.from.value].position) + pr.x(c.nodes[k.to.value].position)) / 2;
      y += (pr.y(c.nodes[k.from.value].position) + pr.y(c.nodes[k.to.value].position)) / 2;
    }
    os << "<text x=\"" << fixed(x / ids.size(), 1) << "\" y=\"" << fixed(y / ids.size() - 14, 1)
       << "\" font-size=\"12\" font-style=\"italic\" fill=\"#7a7160\" stroke=\"#f4f1ea\" "
          "stroke-width=\"3\" paint-order=\"stroke\" text-anchor=\"middle\">"
       << xml(d.name) << "</text>\n";
  }

  // Links, each direction offset to its right so that both of a two-way road show; the largest
  // changes are drawn last, on top.
  std::vector<std::size_t> order(v.result.links.size());
  for (std::size_t l = 0; l < order.size(); ++l) order[l] = l;
  auto delta_of = [&](std::size_t l) {
    const double base = l < r.baseline.links.size() ? r.baseline.links[l].flow_veh_h : 0;
    return v.result.links[l].flow_veh_h - base;
  };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::abs(delta_of(a)) < std::abs(delta_of(b));
  });
  for (int pass = 0; pass < 2; ++pass) {
    for (auto l : order) {
      const auto info = describe_link(c, &v, l);
      const auto& now = v.result.links[l];
      const auto a = c.nodes[info.from.value].position;
      const auto b = c.nodes[info.to.value].position;
      double x1 = pr.x(a), y1 = pr.y(a), x2 = pr.x(b), y2 = pr.y(b);
      const double len = std::hypot(x2 - x1, y2 - y1);
      const double w = now.closed ? 2.5 : stroke_width(now.flow_veh_h);
      if (len > 0) {
        const double off = w / 2 + 0.8;
        const double nx = -(y2 - y1) / len * off, ny = (x2 - x1) / len * off;
        x1 += nx, y1 += ny, x2 += nx, y2 += ny;
      }
      os << "<line x1=\"" << fixed(x1, 1) << "\" y1=\"" << fixed(y1, 1) << "\" x2=\""
         << fixed(x2, 1) << "\" y2=\"" << fixed(y2, 1) << "\" stroke-linecap=\"round\" ";
      if (pass == 0) {
        // A thin dark casing keeps the unchanged (white) links visible.
        os << "stroke=\"#8c8c8c\" stroke-width=\"" << fixed(w + 1.2, 1) << "\""
           << (now.closed ? " stroke-dasharray=\"7 5\"" : "") << "/>\n";
      } else {
        os << "stroke=\"" << diverging(delta_of(l) / delta_scale) << "\" stroke-width=\""
           << fixed(w, 1) << "\"" << (now.closed ? " stroke-dasharray=\"7 5\"" : "") << "><title>"
           << xml(info.key) << " " << xml(info.name) << ": " << num(now.flow_veh_h) << " veh/h ("
           << signed_fixed(delta_of(l), 1) << ")" << (now.closed ? ", closed" : "")
           << "</title></line>\n";
      }
    }
  }
  os << "</g>\n";

  // Legend: the colour scale, the widths, the closure style, and the city totals.
  const double ly = map_top + map_height + 22;
  os << "<text x=\"20\" y=\"" << ly << "\" font-size=\"13\">Change in flow (veh/h)</text>\n";
  os << "<rect x=\"20\" y=\"" << ly + 8
     << "\" width=\"300\" height=\"14\" fill=\"url(#delta)\" "
        "stroke=\"#888\"/>\n";
  for (int i = 0; i <= 4; ++i) {
    const double x = 20 + i * 75;
    const double value = -delta_scale + i * delta_scale / 2;
    os << "<line x1=\"" << x << "\" y1=\"" << ly + 22 << "\" x2=\"" << x << "\" y2=\"" << ly + 27
       << "\" stroke=\"#444\"/><text x=\"" << x << "\" y=\"" << ly + 40
       << "\" font-size=\"11\" text-anchor=\"middle\">" << signed_fixed(value, 0) << "</text>\n";
  }
  os << "<text x=\"370\" y=\"" << ly << "\" font-size=\"13\">Width: flow (veh/h)</text>\n";
  const double flow_step = nice_ceiling(flow_max / 3);
  for (int i = 1; i <= 3; ++i) {
    const double f = flow_step * i;
    const double x = 370 + (i - 1) * 85;
    os << "<line x1=\"" << x << "\" y1=\"" << ly + 15 << "\" x2=\"" << x + 50 << "\" y2=\""
       << ly + 15 << "\" stroke=\"#6b6b6b\" stroke-width=\"" << fixed(stroke_width(f), 1)
       << "\"/><text x=\"" << x + 25 << "\" y=\"" << ly + 40
       << "\" font-size=\"11\" text-anchor=\"middle\">" << fixed(f, 0) << "</text>\n";
  }
  os << "<line x1=\"640\" y1=\"" << ly + 15 << "\" x2=\"690\" y2=\"" << ly + 15
     << "\" stroke=\"#6b6b6b\" stroke-width=\"2.5\" stroke-dasharray=\"7 5\"/><text x=\"700\" y=\""
     << ly + 19 << "\" font-size=\"12\">closed</text>\n";
  const auto& bt = r.baseline.city;
  const auto& vt = v.result.city;
  os << "<text x=\"20\" y=\"" << ly + 68 << "\" font-size=\"12\" fill=\"#333\">City: VKT "
     << fixed(bt.vkt, 0) << " &#8594; " << fixed(vt.vkt, 0) << " veh-km ("
     << percent(bt.vkt, vt.vkt) << "), VHT " << fixed(bt.vht, 0) << " &#8594; " << fixed(vt.vht, 0)
     << " veh-h (" << percent(bt.vht, vt.vht) << "), mean speed " << fixed(bt.mean_speed_kmh, 1)
     << " &#8594; " << fixed(vt.mean_speed_kmh, 1) << " km/h</text>\n";
  if (!v.result.disconnected.empty())
    os << "<text x=\"20\" y=\"" << ly + 86
       << "\" font-size=\"13\" font-weight=\"bold\" fill=\"#b2182b\">WARNING: "
       << xml(warning_text(v.result)) << "</text>\n";
  os << "</svg>\n";
  return os.str();
}

// ---------------------------------------------------------------------------------------------

std::string comparison_table(const scenario& s, const scenario_result& r) {
  const city& c = s.base;
  std::ostringstream os;
  os << "Scenario " << s.spec.name << ": " << s.spec.title << "\n";
  os << "Base: " << c.name << " (" << c.links.size() << " links, " << c.zones.size() << " zones, "
     << fixed(r.baseline.demand_veh_h, 0) << " veh/h)\n";
  if (const auto& lb = r.live_base) {
    os << "Live base: " << lb->node << " as of " << utc_text(lb->as_of) << ": "
       << lb->links_observed << " links observed, " << lb->links_stale << " stale (older than "
       << lb->stale_after_ms / 60000.0 << " min), " << lb->cuts.size() << " capacities cut, "
       << lb->links_within_tolerance << " slower than the BPR curve within the "
       << fixed(100 * lb->capacity_tolerance, 0) << " % tolerance\n";
    if (lb->demand_factor)
      os << "  demand factor " << fixed(*lb->demand_factor, 4) << " on " << lb->demand_links
         << " links"
         << (lb->demand_clamped ? " (least-squares fit " + fixed(lb->demand_factor_fit, 4) +
                                      " clamped to [" + fixed(lb->demand_factor_min, 2) + ", " +
                                      fixed(lb->demand_factor_max, 2) + "])"
                                : "")
         << "\n";
    else
      os << "  demand unchanged: no fresh flow observation on a link the bundle loads\n";
    if (lb->environment_sensors > 0) {
      auto value = [](const std::optional<double>& v, const char* unit) {
        return v ? fixed(*v, 1) + unit : std::string("-");
      };
      os << "  air and wind (" << lb->environment_sensors << " sensors, fresh means): PM2.5 "
         << value(lb->pm25_ug_m3, " ug/m3") << ", NO2 " << value(lb->no2_ug_m3, " ug/m3")
         << ", wind " << value(lb->wind_speed_m_s, " m/s") << " from "
         << value(lb->wind_from_deg, " deg") << "\n";
    }
    os << env::observed_table(s, r);
    if (!lb->cuts.empty())
      os << "  " << pad("link", 10, false) << pad("name", 32, false) << pad("km/h", 8)
         << pad("veh/h", 8) << pad("capacity", 10) << pad("->", 10) << "\n";
    for (std::size_t i = 0; i < lb->cuts.size() && i < s.spec.top; ++i) {
      const auto& cut = lb->cuts[i];
      const auto& l = c.links[cut.link.value];
      os << "  " << pad(clip(l.key, 9), 10, false) << pad(clip(l.name, 31), 32, false)
         << pad(fixed(cut.observed_speed_kmh, 1), 8) << pad(fixed(cut.observed_flow_veh_h, 0), 8)
         << pad(fixed(cut.bundle_capacity_veh_h, 0), 10)
         << pad(fixed(cut.capacity_veh_h, 0) + (cut.at_floor ? " (floor)" : ""), 10) << "\n";
    }
  }
  std::size_t name_width = 24;
  for (const auto& v : r.variants) name_width = std::max(name_width, v.name.size() + 2);
  auto solver_line = [&](const std::string& name, const network_result& n, bool reused) {
    os << "  " << pad(name, name_width, false);
    if (reused) {
      os << "traffic of the baseline (not solved again)\n";
      return;
    }
    os << n.iterations << " iterations, gap " <<
        [&] {
          char b[32];
          std::snprintf(b, sizeof b, "%.2e", n.relative_gap);
          return std::string(b);
        }()
       << (n.gap_reached ? "" : " (target NOT reached)")
       << (n.warm_started ? ", warm start" : ", cold start") << ", " << fixed(n.solve_ms, 1)
       << " ms\n";
  };
  os << "Solver:\n";
  solver_line("baseline", r.baseline, false);
  for (const auto& v : r.variants) solver_line(v.name, v.result, traffic_reused(v));

  for (const auto& v : r.variants) {
    const auto& b = r.baseline;
    const auto& n = v.result;
    os << "\n== " << v.name << (v.title != v.name ? ": " + v.title : "") << " ==\n";
    if (!n.disconnected.empty()) {
      os << "!! WARNING: " << warning_text(n) << "\n";
      std::size_t shown = 0;
      for (const auto& od : n.disconnected) {
        if (shown++ == s.spec.top) {
          os << "!!   ... and " << n.disconnected.size() - s.spec.top << " more\n";
          break;
        }
        os << "!!   zone " << zone_label(c, od.from) << " -> zone " << zone_label(c, od.to) << ": "
           << fixed(od.trips_veh_h, 1) << " veh/h unassigned\n";
      }
    }
    if (traffic_reused(v)) {
      // Every transport delta would be zero: one line says so instead of tables of zeros.
      os << "traffic: the baseline's (environmental changes only; network and demand unchanged)\n";
      if (r.grid)
        os << env::environment_table(s, r, static_cast<std::size_t>(&v - r.variants.data()));
      continue;
    }
    os << pad("city", 26, false) << pad("baseline", 12) << pad("variant", 12) << pad("delta", 12)
       << pad("%", 9) << "\n";
    auto row = [&](const char* name, double x, double y, int d) {
      os << pad(name, 26, false) << pad(fixed(x, d), 12) << pad(fixed(y, d), 12)
         << pad(signed_fixed(y - x, d), 12) << pad(percent(x, y), 9) << "\n";
    };
    row("VKT (veh-km)", b.city.vkt, n.city.vkt, 0);
    row("VHT (veh-h)", b.city.vht, n.city.vht, 1);
    row("mean speed (km/h)", b.city.mean_speed_kmh, n.city.mean_speed_kmh, 2);
    row("congestion (VHT/ff - 1)", b.city.congestion, n.city.congestion, 3);
    row("TSTT (veh-h)", b.tstt_veh_h, n.tstt_veh_h, 1);
    row("demand (veh/h)", b.demand_veh_h, n.demand_veh_h, 0);
    row("unassigned (veh/h)", b.unassigned_veh_h, n.unassigned_veh_h, 1);

    os << "\n"
       << pad("district", 30, false) << pad("VKT", 10) << pad("dVKT%", 8) << pad("speed", 8)
       << pad("->", 8) << pad("congestion", 12) << pad("->", 8) << "\n";
    for (std::size_t d = 0; d < c.districts.size(); ++d) {
      const auto& x = b.districts[d];
      const auto& y = n.districts[d];
      os << pad(clip(c.districts[d].name, 29), 30, false) << pad(fixed(y.vkt, 0), 10)
         << pad(percent(x.vkt, y.vkt), 8) << pad(fixed(x.mean_speed_kmh, 1), 8)
         << pad(fixed(y.mean_speed_kmh, 1), 8) << pad(fixed(x.congestion, 3), 12)
         << pad(fixed(y.congestion, 3), 8) << "\n";
    }
    if (r.grid)
      os << env::environment_table(s, r, static_cast<std::size_t>(&v - r.variants.data()));

    os << "\nmost affected links (by |delta flow|)\n"
       << pad("link", 10, false) << pad("name", 42, false) << pad("flow", 9) << pad("->", 9)
       << pad("delta", 9) << pad("dtime min", 10) << "\n";
    for (const auto& ch : most_affected_links(b, v, s.spec.top)) {
      const auto info = describe_link(c, &v, ch.link.value);
      const auto& now = n.links[ch.link.value];
      const double before =
          ch.link.value < b.links.size() ? b.links[ch.link.value].flow_veh_h : 0.0;
      os << pad(clip(info.key, 9), 10, false) << pad(clip(info.name, 41), 42, false)
         << pad(fixed(before, 0), 9) << pad(fixed(now.flow_veh_h, 0), 9)
         << pad(signed_fixed(ch.delta_flow_veh_h, 0), 9)
         << pad(now.closed ? "closed" : signed_fixed(ch.delta_time_min, 2), 10) << "\n";
    }

    os << "\nmost affected OD pairs (by |delta travel time per trip|)\n"
       << pad("from", 6) << pad("to", 6) << pad("trips/h", 10) << pad("time min", 10)
       << pad("->", 8) << pad("delta", 8) << "\n";
    for (const auto& ch : most_affected_od(b, v, s.spec.top))
      os << pad(zone_label(c, ch.from), 6) << pad(zone_label(c, ch.to), 6)
         << pad(fixed(ch.trips_veh_h, 1), 10) << pad(fixed(ch.baseline_time_min, 2), 10)
         << pad(fixed(ch.time_min, 2), 8) << pad(signed_fixed(ch.delta_time_min, 2), 8) << "\n";
  }
  return os.str();
}

std::string metrics_text(const scenario& s, const scenario_result& r) {
  struct run {
    std::string variant;
    const network_result* result;
  };
  std::vector<run> runs{{"baseline", &r.baseline}};
  for (const auto& v : r.variants) runs.push_back({v.name, &v.result});
  const std::string scenario_label = "scenario=\"" + label_value(s.spec.name) + "\"";

  std::ostringstream os;
  auto family = [&](const char* name, const char* help, auto value) {
    os << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " gauge\n";
    for (const auto& x : runs)
      os << name << '{' << scenario_label << ",variant=\"" << label_value(x.variant) << "\"} "
         << metric_number(value(*x.result)) << '\n';
  };
  family("citytwin_scenario_travel_distance_meters",
         "Vehicle-metres travelled per hour of the period, city-wide.",
         [](const network_result& n) { return n.city.vkt * 1000; });
  family("citytwin_scenario_travel_time_seconds",
         "Vehicle-seconds travelled per hour of the period, city-wide.",
         [](const network_result& n) { return n.city.vht * 3600; });
  family("citytwin_scenario_mean_speed_kmh", "Vehicle-km over vehicle-hours, city-wide.",
         [](const network_result& n) { return n.city.mean_speed_kmh; });
  family("citytwin_scenario_congestion_index",
         "Vehicle-hours over their free-flow value, minus 1, city-wide.",
         [](const network_result& n) { return n.city.congestion; });
  family("citytwin_scenario_unassigned_trips",
         "Trips per hour of the period between OD pairs the network no longer connects.",
         [](const network_result& n) { return n.unassigned_veh_h; });
  family("citytwin_scenario_relative_gap", "Relative gap the equilibrium was solved to.",
         [](const network_result& n) { return n.relative_gap; });

  if (const auto& lb = r.live_base) {
    auto live = [&](const char* name, const char* help, double value) {
      os << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " gauge\n"
         << name << '{' << scenario_label << "} " << metric_number(value) << '\n';
    };
    live("citytwin_scenario_live_links_observed",
         "Links the live node had a traffic state for when the scenario forked it.",
         static_cast<double>(lb->links_observed));
    live("citytwin_scenario_live_links_stale",
         "Live link states ignored as older than the staleness bound.",
         static_cast<double>(lb->links_stale));
    live("citytwin_scenario_live_capacities_cut",
         "Links whose capacity the live speeds and flows lowered.",
         static_cast<double>(lb->cuts.size()));
    live("citytwin_scenario_live_links_within_tolerance",
         "Links slower than the BPR curve at their live flow, within the tolerance: not cut.",
         static_cast<double>(lb->links_within_tolerance));
    live("citytwin_scenario_live_demand_factor",
         "City-wide factor on the bundle's demand fitted to the live flows (1 when not fitted).",
         lb->demand_factor ? *lb->demand_factor : 1.0);
  }

  auto district_family = [&](const char* name, const char* help, auto value) {
    os << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " gauge\n";
    for (const auto& x : runs)
      for (std::size_t d = 0; d < x.result->districts.size() && d < s.base.districts.size(); ++d)
        os << name << '{' << scenario_label << ",variant=\"" << label_value(x.variant)
           << "\",district=\"" << label_value(s.base.districts[d].key) << "\"} "
           << metric_number(value(x.result->districts[d])) << '\n';
  };
  district_family("citytwin_scenario_district_travel_distance_meters",
                  "Vehicle-metres travelled per hour on the district's links.",
                  [](const measures& m) { return m.vkt * 1000; });
  district_family("citytwin_scenario_district_travel_time_seconds",
                  "Vehicle-seconds travelled per hour on the district's links.",
                  [](const measures& m) { return m.vht * 3600; });
  district_family("citytwin_scenario_district_mean_speed_kmh",
                  "Vehicle-km over vehicle-hours on the district's links.",
                  [](const measures& m) { return m.mean_speed_kmh; });
  district_family("citytwin_scenario_district_congestion_index",
                  "Vehicle-hours over their free-flow value, minus 1, on the district's links.",
                  [](const measures& m) { return m.congestion; });
  os << env::environment_metrics(s, r);
  return os.str();
}

expected<std::vector<fs::path>, std::string> write_outputs(const fs::path& dir, const scenario& s,
                                                           const scenario_result& r) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return unexpected{"cannot create " + dir.string() + ": " + ec.message()};
  std::vector<std::pair<fs::path, std::string>> files;
  files.emplace_back(dir / "summary.json", summary_json(s, r));
  files.emplace_back(dir / "links.csv", links_csv(s, r));
  files.emplace_back(dir / "districts.csv", districts_csv(s, r));
  files.emplace_back(dir / "links.geojson", links_geojson(s, r));
  files.emplace_back(dir / "scenario.prom", metrics_text(s, r));
  for (std::size_t v = 0; v < r.variants.size(); ++v)
    files.emplace_back(dir / (r.variants[v].name + ".svg"), variant_svg(s, r, v));
  for (auto& [name, text] : env::environment_files(s, r))
    files.emplace_back(dir / name, std::move(text));
  std::vector<fs::path> written;
  for (const auto& [path, text] : files) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    out.close();
    if (!out) return unexpected{"cannot write " + path.string()};
    written.push_back(path);
  }
  return written;
}

}  // namespace twin
