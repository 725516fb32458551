#pragma once

// A variant against the baseline: the links whose flow changed most and the OD pairs whose travel
// time changed most. The runner computes one comparison per variant; every writer formats it.

#include <cstddef>
#include <vector>

#include "twin/city/city.hpp"

namespace twin {

struct network_result;

struct link_change {
  link_id link;                    // index into the variant's links
  double baseline_flow_veh_h = 0;  // 0 for a link the variant adds
  double flow_veh_h = 0;
  double delta_flow_veh_h = 0;
  double delta_time_min = 0;  // 0 when either side is closed or the link is new
  bool closed = false;        // in the variant
};

struct od_change {
  zone_id from;
  zone_id to;
  double trips_veh_h = 0;  // in the variant
  double baseline_time_min = 0;
  double time_min = 0;
  double delta_time_min = 0;
};

struct comparison {
  std::vector<link_change> links;  // most affected first, at most `top`
  std::vector<od_change> od;       // most affected first, at most `top`
};

// Links by decreasing |delta flow| (ties by index), at most `count`. The variant's links are the
// baseline's, then the ones it adds.
std::vector<link_change> most_affected_links(const network_result& baseline,
                                             const network_result& variant, std::size_t count);

// Connected OD pairs by decreasing |delta travel time per trip| (ties by pair), at most `count`.
std::vector<od_change> most_affected_od(const network_result& baseline,
                                        const network_result& variant, std::size_t count);

// Both, at most `top` each.
comparison compare(const network_result& baseline, const network_result& variant, std::size_t top);

}  // namespace twin
