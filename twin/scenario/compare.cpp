#include "twin/scenario/compare.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "twin/scenario/result.hpp"

namespace twin {

std::vector<link_change> most_affected_links(const network_result& baseline,
                                             const network_result& variant, std::size_t count) {
  std::vector<link_change> all;
  for (std::size_t l = 0; l < variant.links.size(); ++l) {
    const auto& now = variant.links[l];
    link_change ch;
    ch.link = link_id{static_cast<std::uint32_t>(l)};
    ch.flow_veh_h = now.flow_veh_h;
    ch.delta_flow_veh_h = now.flow_veh_h;
    ch.closed = now.closed;
    if (l < baseline.links.size()) {
      const auto& before = baseline.links[l];
      ch.baseline_flow_veh_h = before.flow_veh_h;
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

std::vector<od_change> most_affected_od(const network_result& baseline,
                                        const network_result& variant, std::size_t count) {
  std::map<std::pair<std::uint32_t, std::uint32_t>, double> before;
  for (const auto& od : baseline.od)
    if (od.time_min) before[{od.from.value, od.to.value}] = *od.time_min;
  std::vector<od_change> all;
  for (const auto& od : variant.od) {
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

comparison compare(const network_result& baseline, const network_result& variant, std::size_t top) {
  return {most_affected_links(baseline, variant, top), most_affected_od(baseline, variant, top)};
}

}  // namespace twin
