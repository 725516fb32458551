#pragma once

// What a scenario run gives: per solved network its links, measures, OD travel times and, with an
// environment, the air and noise on the receptor grid.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "twin/city/city.hpp"
#include "twin/scenario/compare.hpp"
#include "twin/scenario/environment.hpp"
#include "twin/scenario/live_base.hpp"
#include "twin/scenario/spec.hpp"

namespace twin {

// One link of a solved network (the city's links, then the variant's new links).
struct link_result {
  double flow_veh_h = 0;
  double capacity_veh_h = 0;  // as perturbed; 0 when closed
  double free_speed_kmh = 0;  // as perturbed
  double time_min = 0;        // BPR travel time at flow_veh_h; free-flow time when closed
  double speed_kmh = 0;       // length / time
  double vc = 0;              // flow / capacity; 0 when closed
  double toll = 0;
  bool closed = false;
};

struct measures {
  double vkt = 0;            // veh·km
  double vht = 0;            // veh·h
  double free_flow_vht = 0;  // veh·h, the same flows at free-flow times
  double mean_speed_kmh = 0;
  double congestion = 0;  // vht / free_flow_vht - 1
};

struct od_result {
  zone_id from;
  zone_id to;
  double trips_veh_h = 0;
  // Travel time of the cheapest path at equilibrium; empty when the pair is disconnected.
  std::optional<double> time_min;
};

struct network_result {
  std::vector<link_result> links;
  measures city;
  std::vector<measures> districts;  // by district_id, by the links' district
  double tstt_veh_h = 0;            // generalized cost, tolls included as time
  double demand_veh_h = 0;
  double unassigned_veh_h = 0;  // demand of disconnected pairs
  double intrazonal_veh_h = 0;
  std::vector<od_result> od;  // every OD pair with trips, in (from, to) order
  std::vector<od_result> disconnected;
  // The solver.
  std::uint32_t iterations = 0;
  double relative_gap = 0;
  bool gap_reached = false;
  bool warm_started = false;
  double solve_ms = 0;  // wall clock: the one number that differs between runs
  // Air and noise on the receptor grid, when the scenario's environment is enabled.
  std::optional<env::environment_result> environment;
};

struct variant_result {
  std::string name;
  std::string title;
  // The variant's network: the city's links, then the ones it adds (their ids follow on), so
  // that result.links[l] is links[l].
  std::vector<link> links;
  network_result result;
  // Against the baseline, computed once when the variant is solved; the writers only format it.
  comparison against_baseline;
};

struct scenario_result {
  network_result baseline;
  std::vector<variant_result> variants;
  // The receptor grid of the environment; empty when it is not enabled.
  std::shared_ptr<const env::receptor_grid> grid;
  // What the live state changed in the base; empty when the base is the bundle alone.
  std::optional<live_base_report> live_base;
  // A live base with the environment: the weather and backgrounds the live twin set, and the
  // modelled baseline against the observations (twin/scenario/environment.hpp).
  std::optional<env::live_coupling> live_environment;
};

}  // namespace twin
