#include "twin/report/csv.hpp"

#include <sstream>

#include "twin/base/check.hpp"
#include "twin/base/text.hpp"
#include "twin/report/common.hpp"

namespace twin {

using text::csv_field;
using text::fixed;

std::string links_csv(const scenario& s, const scenario_result& r) {
  const city& c = s.base;
  std::ostringstream os;
  os << "variant,key,name,district,from_node,to_node,length_m,closed,capacity_veh_h,flow_veh_h,"
        "speed_kmh,vc,time_min,baseline_flow_veh_h,baseline_speed_kmh,baseline_vc,"
        "baseline_time_min,delta_flow_veh_h,delta_time_min\n";
  for (const auto& v : r.variants) {
    for (std::size_t l = 0; l < v.result.links.size(); ++l) {
      const auto& k = v.links[l];
      const auto& now = v.result.links[l];
      const auto* before = l < r.baseline.links.size() ? &r.baseline.links[l] : nullptr;
      os << csv_field(v.name) << ',' << csv_field(k.key) << ',' << csv_field(k.name) << ','
         << csv_field(c.districts[k.district.value].key) << ',' << c.nodes[k.from.value].number
         << ',' << c.nodes[k.to.value].number << ',' << fixed(k.length_m, 1) << ','
         << (now.closed ? 1 : 0) << ',' << fixed(now.capacity_veh_h, 1) << ','
         << fixed(now.flow_veh_h, 3) << ',' << (now.closed ? "" : fixed(now.speed_kmh, 3)) << ','
         << fixed(now.vc, 4) << ',' << (now.closed ? "" : fixed(now.time_min, 4)) << ',';
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

}  // namespace twin

namespace twin::env {

using text::csv_field;
using text::fixed;

std::string grid_csv(const scenario& s, const scenario_result& r, std::size_t run) {
  TWIN_CHECK(r.grid != nullptr);
  const auto& g = *r.grid;
  const auto& e = run_environment(r, run);
  const auto* b = run > 0 ? &run_environment(r, 0) : nullptr;
  std::ostringstream os;
  os << "cell,row,column,lon,lat,district,population,pm25_ug_m3,no2_ug_m3,lden_db";
  if (b) os << ",delta_pm25_ug_m3,delta_no2_ug_m3,delta_lden_db";
  os << '\n';
  for (std::size_t i = 0; i < g.size(); ++i) {
    const auto& cell = g.cells[i];
    os << i << ',' << i / g.columns << ',' << i % g.columns << ',' << fixed(cell.position.lon, 6)
       << ',' << fixed(cell.position.lat, 6) << ',' << csv_field(district_key(s.base, cell)) << ','
       << fixed(cell.population, 2) << ',' << fixed(e.pm25_ug_m3[i], 4) << ','
       << fixed(e.no2_ug_m3[i], 4) << ',' << fixed(e.lden_db[i], 2);
    if (b)
      os << ',' << fixed(e.pm25_ug_m3[i] - b->pm25_ug_m3[i], 4) << ','
         << fixed(e.no2_ug_m3[i] - b->no2_ug_m3[i], 4) << ','
         << fixed(e.lden_db[i] - b->lden_db[i], 2);
    os << '\n';
  }
  return os.str();
}

}  // namespace twin::env
