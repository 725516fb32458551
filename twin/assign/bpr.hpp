#pragma once

// The Bureau of Public Roads link cost, the one curve every part of the twin uses: the scenario
// network, the live base (which inverts it) and the synthetic feed (which follows it).
//   t = t0 (1 + b (q / c)^p),  b = bpr_b, p = bpr_power (the classic BPR values).

#include <optional>

namespace twin {

inline constexpr double bpr_b = 0.15;
inline constexpr double bpr_power = 4.0;

// How much longer than the BPR time at the observed flow a link's observed travel time may be
// before the live base reads the link's capacity as lowered (0.1: 10 % longer); the synthetic
// feed's scatter stays inside it.
inline constexpr double live_capacity_tolerance_default = 0.10;

// t / t0 at a flow and a capacity.
double bpr_time_ratio(double flow_veh_h, double capacity_veh_h);

// The capacity the BPR cost implies at an observed speed and flow: c = q / ((t/t0 - 1) / b)^(1/p)
// with t / t0 = free speed / observed speed. Empty when the link runs at or above free speed, or
// carries no flow; 0 at a standstill.
std::optional<double> inferred_capacity_veh_h(double length_m, double free_speed_kmh,
                                              double observed_speed_kmh,
                                              double observed_flow_veh_h);

}  // namespace twin
