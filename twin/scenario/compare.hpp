#pragma once

// Comparisons between a variant and the baseline.

#include <cstddef>
#include <string_view>
#include <vector>

#include "twin/city/city.hpp"
#include "twin/scenario/result.hpp"

namespace twin {

struct link_change {
  link_id link;  // index into the variant's links
  double delta_flow_veh_h = 0;
  double delta_time_min = 0;
};
// Links by decreasing |delta flow| (ties by index), at most `count`.
std::vector<link_change> most_affected_links(const network_result& baseline,
                                             const variant_result& v, std::size_t count);

struct od_change {
  zone_id from;
  zone_id to;
  double trips_veh_h = 0;  // in the variant
  double baseline_time_min = 0;
  double time_min = 0;
  double delta_time_min = 0;
};
// Connected OD pairs by decreasing |delta travel time per trip| (ties by pair), at most `count`.
std::vector<od_change> most_affected_od(const network_result& baseline, const variant_result& v,
                                        std::size_t count);

// The key, name, ends and district of link `l` of a variant (a city link or a new one).
struct link_info {
  std::string_view key;
  std::string_view name;
  node_id from;
  node_id to;
  double length_m = 0;
  district_id district;
};
link_info describe_link(const city& c, const variant_result* v, std::size_t l);

}  // namespace twin
