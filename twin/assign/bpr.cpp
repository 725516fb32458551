#include "twin/assign/bpr.hpp"

#include <cmath>

#include "twin/base/check.hpp"

namespace twin {

std::optional<double> inferred_capacity_veh_h(double length_m, double free_speed_kmh,
                                              double observed_speed_kmh,
                                              double observed_flow_veh_h) {
  TWIN_REQUIRE_OP(length_m, >, 0.0);
  TWIN_REQUIRE_OP(free_speed_kmh, >, 0.0);
  if (!(observed_flow_veh_h > 0)) return std::nullopt;
  // t / t0 = free speed / observed speed; a standstill is an unbounded delay: nothing gets
  // through, so the capacity is as low as the floor allows.
  if (!(observed_speed_kmh > 0)) return 0.0;
  const double ratio = free_speed_kmh / observed_speed_kmh;
  if (ratio <= 1) return std::nullopt;
  return observed_flow_veh_h / std::pow((ratio - 1) / bpr_b, 1 / bpr_power);
}

double bpr_time_ratio(double flow_veh_h, double capacity_veh_h) {
  TWIN_REQUIRE_OP(capacity_veh_h, >, 0.0);
  return 1 + bpr_b * std::pow(flow_veh_h / capacity_veh_h, bpr_power);
}

}  // namespace twin
