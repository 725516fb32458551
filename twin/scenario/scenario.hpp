#pragma once

// Transport what-if scenarios on a city bundle: a scenario file names a base city and variants,
// each a list of perturbations (closures, capacity and speed changes, demand changes, new links,
// tolls). A run solves the user equilibrium of the baseline and of every variant to the same
// relative gap and compares them per link, per district, per OD pair and for the city.
//
// From the city to the assignment engine:
//   - every link is a BPR link, free-flow time = length / free speed in minutes, capacity in veh/h,
//     b = bpr_b, power = bpr_power (the classic Bureau of Public Roads values, the same for every
//     bundle so that two bundles are compared under one cost model);
//   - every road node is a through node; each zone loads and unloads at its centroid node;
//   - the demand is the bundle's OD matrix in veh/h for its period (Macau: the AM peak hour);
//   - a toll of T (currency) costs T * 60 / value_of_time_per_h minutes.
// Measures: vehicle-km (VKT), vehicle-hours (VHT, BPR travel time only), mean speed = VKT / VHT,
// congestion = VHT / free-flow VHT - 1, TSTT = total generalized cost in veh·h (= VHT without
// tolls).
//
// Environmental scenarios: an `environment:` section, or environmental perturbations (weather,
// background, ban, electrify, low_emission_zone, add_source, remove_source, source) in a variant's
// list, add the air and noise of every run on a receptor grid (twin/scenario/environment.hpp). A
// variant with environmental perturbations only keeps the baseline's traffic without solving it
// again. With a live base, the live twin's wind and air-quality sensors set the weather and the
// backgrounds of every run, and the baseline is compared with them (env::live_coupling).
//
// Same spec and same base give bit-for-bit the same numbers (one worker, no time limit); only
// the measured solve time differs between runs.

#include <optional>

#include "twin/assign/assignment.hpp"
#include "twin/scenario/compare.hpp"
#include "twin/scenario/environment.hpp"
#include "twin/scenario/result.hpp"
#include "twin/scenario/spec.hpp"

namespace twin {

struct run_options {
  std::optional<double> relative_gap;  // overrides the scenario's
  // Runs each solve; empty: assign::solve(). The part of an origin is the district of its zone,
  // so that a solver may give each district its own worker (the result never depends on it).
  assign::solve_function solver;
  // Runs the dispersion of each environment on the grid; empty: env::disperse_on_grid(). Each
  // cell belongs to its district, so that a district's worker may compute its own cells.
  env::grid_function grid;
};

// Solves the baseline and every variant; variants warm-start from the baseline unless they add
// links (another network shape) or change the demand (the engine then starts cold by itself).
// With a live snapshot, the bundle is solved first (its flows fit the demand factor), and the
// baseline and the variants are solved on the live base.
scenario_result run_scenario(const scenario& s, const run_options& options = {});

}  // namespace twin
