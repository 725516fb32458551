#include "twin/report/summary.hpp"

#include <cmath>

#include "twin/base/time_text.hpp"
#include "twin/report/common.hpp"

namespace twin {

namespace {

using nlohmann::json;

// A staleness bound set for every sensor, or null: each sensor's own (stale_after_cadences).
json stale_after_json(const std::optional<time_ms>& ms) {
  return ms ? json(*ms) : json(nullptr);
}

// Where a live base came from: `node` (its query address), or `snapshot` (the file, its LSN and
// when it was taken) for a base read from a node's snapshot file.
void put_live_origin(json& j, const std::string& node,
                     const std::optional<live_snapshot_file>& snapshot) {
  if (!snapshot) {
    j["node"] = node;
    return;
  }
  j["snapshot"] = {{"file", snapshot->file},
                   {"lsn", snapshot->lsn},
                   {"taken_ms", snapshot->taken_ms},
                   {"taken", iso8601_utc(snapshot->taken_ms)}};
}

json pct_or_null(double before, double after) {
  if (before == 0) return nullptr;
  return 100.0 * (after - before) / before;
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

// `variant`: the link of a variant, with its deltas against `before` (none for a link it adds).
json link_json(const link& k, const link_result& now, bool variant, const link_result* before) {
  json j{{"key", k.key},
         {"flow_veh_h", now.flow_veh_h},
         {"speed_kmh", now.closed ? json(nullptr) : json(now.speed_kmh)},
         {"vc", now.vc},
         {"time_min", now.closed ? json(nullptr) : json(now.time_min)},
         {"closed", now.closed}};
  if (now.toll > 0) j["toll"] = now.toll;
  if (variant) {
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

json districts_json(const city& c, const network_result& n, const network_result* before) {
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
  json out = {{"city", lb.city_name},
              {"as_of_ms", lb.as_of},
              {"as_of", iso8601_utc(lb.as_of)},
              {"stale_after_ms", stale_after_json(lb.stale_after_ms)},
              {"stale_after_cadences", stale_after_cadences},
              {"links_observed", lb.links_observed},
              {"links_stale", lb.links_stale},
              {"capacities_cut", lb.cuts.size()},
              {"capacity_tolerance", lb.capacity_tolerance},
              {"links_within_tolerance", lb.links_within_tolerance},
              {"capacity_cuts", std::move(cuts)},
              {"demand", std::move(demand)},
              {"environment", std::move(environment)}};
  put_live_origin(out, lb.node, lb.snapshot);
  return out;
}

json variant_json(const scenario& s, const scenario_result& r, std::size_t vi) {
  const city& c = s.base;
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
  e["districts"] = districts_json(c, n, &r.baseline);
  json top = json::array();
  for (const auto& ch : v.against_baseline.links) {
    const auto& k = v.links[ch.link.value];
    top.push_back({{"key", k.key},
                   {"name", k.name},
                   {"flow_veh_h", ch.flow_veh_h},
                   {"delta_flow_veh_h", ch.delta_flow_veh_h},
                   {"delta_time_min", ch.delta_time_min}});
  }
  e["most_affected_links"] = std::move(top);
  json ods = json::array();
  for (const auto& ch : v.against_baseline.od)
    ods.push_back({{"from_zone", c.zones[ch.from.value].number},
                   {"to_zone", c.zones[ch.to.value].number},
                   {"trips_veh_h", ch.trips_veh_h},
                   {"baseline_time_min", ch.baseline_time_min},
                   {"time_min", ch.time_min},
                   {"delta_time_min", ch.delta_time_min}});
  e["most_affected_od"] = std::move(ods);
  json links = json::array();
  for (std::size_t l = 0; l < n.links.size(); ++l)
    links.push_back(link_json(v.links[l], n.links[l], true,
                              l < r.baseline.links.size() ? &r.baseline.links[l] : nullptr));
  e["links"] = std::move(links);
  return e;
}

}  // namespace

std::string summary_json(const scenario& s, const scenario_result& r) {
  const city& c = s.base;
  json j;
  j["scenario"] = s.spec.name;
  j["title"] = s.spec.title;
  j["base"] = {{"city", c.name}};
  if (r.live_base) {
    put_live_origin(j["base"], r.live_base->node, r.live_base->snapshot);
    j["live_base"] = live_base_json(s, *r.live_base);
  }
  j["model"] = {{"cost", "BPR: free_flow_time * (1 + b * (flow / capacity)^power)"},
                {"bpr_b", bpr_b},
                {"bpr_power", bpr_power},
                {"demand", "bundle OD matrix, veh/h for its period"},
                {"value_of_time_per_h", s.spec.value_of_time_per_h},
                {"relative_gap_target", s.spec.relative_gap}};
  {
    json b;
    b["totals"] = totals_json(r.baseline);
    b["solver"] = solver_json(r.baseline);
    b["districts"] = districts_json(c, r.baseline, nullptr);
    b["disconnected"] = disconnected_json(c, r.baseline);
    json links = json::array();
    for (std::size_t l = 0; l < r.baseline.links.size(); ++l)
      links.push_back(link_json(c.links[l], r.baseline.links[l], false, nullptr));
    b["links"] = std::move(links);
    j["baseline"] = std::move(b);
  }
  json variants = json::array();
  for (std::size_t vi = 0; vi < r.variants.size(); ++vi) variants.push_back(variant_json(s, r, vi));
  j["variants"] = std::move(variants);
  if (r.grid) j["environment"] = env::environment_json(s, r);
  return j.dump(2) + "\n";
}

}  // namespace twin

namespace twin::env {

namespace {

using nlohmann::json;

json air_json(const air_indicators& a) {
  return {{"mean_ug_m3", a.mean_ug_m3},
          {"exposure_ug_m3", a.exposure_ug_m3},
          {"max_ug_m3", a.max_ug_m3},
          {"people_above_24h", a.people_above_short_term},
          {"share_above_24h", a.share_above_short_term},
          {"people_above_annual", a.people_above_annual},
          {"share_above_annual", a.share_above_annual}};
}

json district_json(const district_environment& d) {
  return {{"cells", d.cells},         {"population", d.population},
          {"pm25", air_json(d.pm25)}, {"no2", air_json(d.no2)},
          {"co2_t_h", d.co2_t_h},     {"nox_kg_h", d.nox_kg_h},
          {"pm25_kg_h", d.pm25_kg_h}, {"road_nox_kg_h", d.road_nox_kg_h},
          {"lden_db", d.lden_db}};
}

json delta_json(const district_environment& now, const district_environment& before) {
  return {
      {"pm25_mean_ug_m3", now.pm25.mean_ug_m3 - before.pm25.mean_ug_m3},
      {"pm25_exposure_ug_m3", now.pm25.exposure_ug_m3 - before.pm25.exposure_ug_m3},
      {"pm25_share_above_24h",
       now.pm25.share_above_short_term - before.pm25.share_above_short_term},
      {"no2_mean_ug_m3", now.no2.mean_ug_m3 - before.no2.mean_ug_m3},
      {"no2_exposure_ug_m3", now.no2.exposure_ug_m3 - before.no2.exposure_ug_m3},
      {"no2_share_above_24h", now.no2.share_above_short_term - before.no2.share_above_short_term},
      {"co2_t_h", now.co2_t_h - before.co2_t_h},
      {"nox_kg_h", now.nox_kg_h - before.nox_kg_h},
      {"pm25_kg_h", now.pm25_kg_h - before.pm25_kg_h},
      {"lden_db", now.lden_db - before.lden_db}};
}

json weather_json(const weather& w) {
  return {{"wind_speed_m_s", w.wind_speed_m_s},
          {"wind_from_deg", w.wind_from_deg},
          {"stability", std::string(1, to_char(w.stability_class))},
          {"mixing_height_m", w.mixing_height_m},
          {"air_temperature_k", w.air_temperature_k}};
}

json sensor_count_json(const live_sensor_count& n) {
  return {{"fresh", n.fresh},
          {"stale", n.stale},
          {"silent", n.silent},
          {"outside_grid", n.outside_grid}};
}

json summary_json(const observed_summary& x, const live_sensor_count& n) {
  json j{{"sensors", x.sensors},
         {"count", sensor_count_json(n)},
         {"mean_observed_ug_m3", x.mean_observed_ug_m3},
         {"mean_modelled_ug_m3", x.mean_modelled_ug_m3},
         {"mean_bias_ug_m3", x.mean_bias_ug_m3},
         {"rmse_ug_m3", x.rmse_ug_m3},
         {"correlation", nullptr}};
  if (x.correlation) j["correlation"] = *x.correlation;
  return j;
}

json background_fit_json(const city& c, const background_fit& f) {
  json districts = json::object();
  for (std::size_t d = 0; d < c.districts.size() && d < f.district_ug_m3.size(); ++d)
    districts[c.districts[d].key] = {{"ug_m3", f.district_ug_m3[d]},
                                     {"source", to_string(f.district_source[d])}};
  return {{"source", to_string(f.city)},
          {"city_ug_m3", f.city_ug_m3},
          {"districts", std::move(districts)}};
}

// summary.json's environment -> observed: where the weather and the backgrounds came from, and the
// modelled baseline against every fresh air-quality sensor.
json observed_json(const city& c, const live_coupling& lc) {
  json sensors = json::array();
  for (const auto& o : lc.sensors) {
    json j{{"key", o.key},
           {"pollutant", name_of(o.p)},
           {"district", o.district.valid() && o.district.value < c.districts.size()
                            ? json(c.districts[o.district.value].key)
                            : json(nullptr)},
           {"time_ms", o.time},
           {"observed_ug_m3", o.observed_ug_m3},
           {"cell", nullptr}};
    if (o.cell) {
      j["cell"] = *o.cell;
      j["local_ug_m3"] = o.local_ug_m3;
      j["modelled_ug_m3"] = o.modelled_ug_m3;
      j["bias_ug_m3"] = o.modelled_ug_m3 - o.observed_ug_m3;
    }
    sensors.push_back(std::move(j));
  }
  json out = {{"as_of_ms", lc.as_of},
              {"stale_after_ms", stale_after_json(lc.stale_after_ms)},
              {"stale_after_cadences", stale_after_cadences},
              {"weather",
               {{"wind_speed", to_string(lc.wind_speed)},
                {"wind_from", to_string(lc.wind_from)},
                {"wind_speed_sensors", sensor_count_json(lc.wind_speed_sensors)},
                {"wind_direction_sensors", sensor_count_json(lc.wind_direction_sensors)}}},
              {"background",
               {{"pm25", background_fit_json(c, lc.pm25_background)},
                {"no2", background_fit_json(c, lc.no2_background)}}},
              {"sensors", std::move(sensors)},
              {"summary",
               {{"pm25", summary_json(lc.pm25, lc.pm25_sensors)},
                {"no2", summary_json(lc.no2, lc.no2_sensors)}}}};
  put_live_origin(out, lc.node, lc.snapshot);
  return out;
}

}  // namespace

json environment_json(const scenario& s, const scenario_result& r) {
  // With a live base, the settings the runs used: the file's with the live weather and backgrounds.
  const auto& e = r.live_environment ? r.live_environment->settings : s.spec.environment;
  const city& c = s.base;
  json settings{{"weather", weather_json(e.w)},
                {"background",
                 {{"pm25_ug_m3", e.background.pm25_ug_m3}, {"no2_ug_m3", e.background.no2_ug_m3}}},
                {"grid",
                 {{"resolution_m", r.grid ? r.grid->resolution_m : e.grid.resolution_m},
                  {"columns", r.grid ? r.grid->columns : 0},
                  {"rows", r.grid ? r.grid->rows : 0},
                  {"origin_lon", r.grid ? r.grid->frame.origin().lon : 0.0},
                  {"origin_lat", r.grid ? r.grid->frame.origin().lat : 0.0}}},
                {"sigmas", to_string(e.scheme)},
                {"no2_from_nox", e.no2_from_nox},
                {"receptor_height_m", e.receptor_height_m},
                {"guidelines",
                 {{"pm25_24h_ug_m3", e.short_term.pm25_ug_m3},
                  {"no2_24h_ug_m3", e.short_term.no2_ug_m3},
                  {"pm25_annual_ug_m3", e.annual.pm25_ug_m3},
                  {"no2_annual_ug_m3", e.annual.no2_ug_m3}}},
                {"noise_periods",
                 {{"day", e.noise_periods.day},
                  {"evening", e.noise_periods.evening},
                  {"night", e.noise_periods.night}}}};
  json bg = json::object();
  for (std::size_t d = 0; d < e.district_background.size() && d < c.districts.size(); ++d)
    if (const auto& b = e.district_background[d])
      bg[c.districts[d].key] = {{"pm25_ug_m3", b->pm25_ug_m3}, {"no2_ug_m3", b->no2_ug_m3}};
  if (!bg.empty()) settings["background"]["districts"] = std::move(bg);

  auto run_json = [&](std::size_t run) {
    const auto& now = run_environment(r, run);
    const auto* before = run > 0 ? &run_environment(r, 0) : nullptr;
    json j{{"name", run_name(r, run)},
           {"traffic_reused", now.traffic_reused},
           {"weather", weather_json(now.w)},
           {"sources", now.sources},
           {"city", district_json(now.city)}};
    if (run > 0) {
      json changes = json::array();
      for (const auto& p : s.spec.variants[run - 1].environment)
        changes.push_back({{"kind", to_string(p.kind)}, {"target", p.target}, {"line", p.line}});
      j["perturbations"] = std::move(changes);
    }
    if (before) j["delta"] = delta_json(now.city, before->city);
    json districts = json::array();
    for (std::size_t d = 0; d < c.districts.size(); ++d) {
      json dj = district_json(now.districts[d]);
      dj["key"] = c.districts[d].key;
      dj["name"] = c.districts[d].name;
      if (before) dj["delta"] = delta_json(now.districts[d], before->districts[d]);
      districts.push_back(std::move(dj));
    }
    j["districts"] = std::move(districts);
    return j;
  };
  json variants = json::array();
  for (std::size_t v = 0; v < r.variants.size(); ++v) variants.push_back(run_json(v + 1));
  json out{{"settings", std::move(settings)},
           {"baseline", run_json(0)},
           {"variants", std::move(variants)}};
  if (r.live_environment) out["observed"] = observed_json(c, *r.live_environment);
  return out;
}

}  // namespace twin::env
