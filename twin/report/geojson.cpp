#include "twin/report/geojson.hpp"

#include <nlohmann/json.hpp>

#include "twin/base/check.hpp"
#include "twin/report/common.hpp"

namespace twin {

using nlohmann::json;

namespace {

// What every link feature says of the link itself (the object's keys are written sorted).
json link_properties(const city& c, const link& k) {
  return json{{"key", k.key},
              {"name", k.name},
              {"district", c.districts[k.district.value].key},
              {"from_node", c.nodes[k.from.value].number},
              {"to_node", c.nodes[k.to.value].number},
              {"lanes", k.lanes},
              {"capacity_veh_h", k.capacity_veh_h}};
}

}  // namespace

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
    json p = link_properties(c, k);
    p["flow_baseline"] = b.flow_veh_h;
    p["vc_baseline"] = b.vc;
    p["speed_baseline"] = b.speed_kmh;
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
    for (std::size_t l = c.links.size(); l < v.links.size(); ++l) {
      const auto& a = v.links[l];
      const auto& now = v.result.links[l];
      json p = link_properties(c, a);
      p["added_in"] = v.name;
      p["flow_" + v.name] = now.flow_veh_h;
      p["delta_flow_" + v.name] = now.flow_veh_h;
      p["vc_" + v.name] = now.vc;
      p["speed_" + v.name] = now.speed_kmh;
      features.push_back({{"type", "Feature"},
                          {"properties", std::move(p)},
                          {"geometry", geometry(a.from, a.to)}});
    }
  }
  json fc{{"type", "FeatureCollection"}, {"name", s.spec.name}, {"features", std::move(features)}};
  return fc.dump() + "\n";
}

}  // namespace twin

namespace twin::env {

using nlohmann::json;

std::string grid_geojson(const scenario& s, const scenario_result& r, std::size_t run) {
  TWIN_CHECK(r.grid != nullptr);
  const auto& g = *r.grid;
  const auto& e = run_environment(r, run);
  const auto* b = run > 0 ? &run_environment(r, 0) : nullptr;
  json features = json::array();
  for (std::size_t i = 0; i < g.size(); ++i) {
    const auto& cell = g.cells[i];
    const auto k = g.corners(i);
    json ring = json::array();
    for (int j : {0, 1, 2, 3, 0}) ring.push_back(json::array({k[j].lon, k[j].lat}));
    json p{{"cell", i},
           {"district", cell.district ? json(district_key(s.base, cell)) : json(nullptr)},
           {"population", cell.population},
           {"pm25_ug_m3", e.pm25_ug_m3[i]},
           {"no2_ug_m3", e.no2_ug_m3[i]},
           {"lden_db", e.lden_db[i]}};
    if (b) {
      p["delta_pm25_ug_m3"] = e.pm25_ug_m3[i] - b->pm25_ug_m3[i];
      p["delta_no2_ug_m3"] = e.no2_ug_m3[i] - b->no2_ug_m3[i];
      p["delta_lden_db"] = e.lden_db[i] - b->lden_db[i];
    }
    features.push_back({{"type", "Feature"},
                        {"properties", std::move(p)},
                        {"geometry", {{"type", "Polygon"}, {"coordinates", json::array({ring})}}}});
  }
  json fc{{"type", "FeatureCollection"},
          {"name", s.spec.name + " " + run_name(r, run)},
          {"features", std::move(features)}};
  return fc.dump() + "\n";
}

}  // namespace twin::env
