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
// list, add the air and noise of every run on a receptor grid (twin/env_scenario.hpp). A variant
// with environmental perturbations only keeps the baseline's traffic without solving it again.
// With a live base, the live twin's wind and air-quality sensors set the weather and the
// backgrounds of every run, and the baseline is compared with them (env::live_coupling).
//
// Same spec and same base give bit-for-bit the same numbers (one worker, no time limit); only
// the measured solve time differs between runs.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "twin/assign/assignment.hpp"
#include "twin/assign/bpr.hpp"
#include "twin/base/expected.hpp"
#include "twin/city/bundle.hpp"
#include "twin/city/city.hpp"
#include "twin/scenario/environment.hpp"
#include "twin/scenario/live_base.hpp"

namespace twin {

// Bounds on what a scenario file may ask for.
inline constexpr std::size_t scenario_variants_max = 64;
inline constexpr std::size_t scenario_perturbations_max = 256;
inline constexpr std::uint32_t scenario_top_max = 1000;

enum class perturbation_kind : std::uint8_t { close, capacity, speed, demand, add_link, toll };
std::string_view to_string(perturbation_kind k);

// A new link, in bundle terms (node numbers resolved to node ids).
struct new_link {
  std::string key;
  std::string name;
  node_id from;
  node_id to;
  double length_m = 0;
  double capacity_veh_h = 0;
  double free_speed_kmh = 0;
  std::uint32_t lanes = 1;
  district_id district;
};

// One perturbation with every name already resolved against the base city.
struct perturbation {
  perturbation_kind kind = perturbation_kind::close;
  std::string target;          // what it applies to, for reports: "bridge 'Ponte de Sai Van'"
  std::vector<link_id> links;  // close, capacity, speed, toll
  double factor = 1;           // capacity, speed, demand
  std::optional<double> free_speed_kmh;  // speed: an absolute value instead of a factor
  double toll = 0;                       // toll, in currency per vehicle
  // demand: an OD pair is scaled when it matches every filter given (an empty list matches all).
  std::vector<zone_id> from_zones, to_zones;
  std::vector<district_id> from_districts, to_districts;
  new_link added;  // add_link
  std::size_t line = 0;
};

struct variant_spec {
  std::string name;
  std::string title;
  std::vector<perturbation> perturbations;
  // The environmental perturbations of the same `perturbations:` list, in file order.
  std::vector<env::env_perturbation> environment;
};

struct scenario_spec {
  std::string name;
  std::string title;
  std::filesystem::path file;
  std::filesystem::path base_city;  // the bundle folder, resolved against the file's folder
  // `base.node`: the query address of a live node whose state the base is forked from (the
  // bundle still gives the network); empty: the bundle alone. `--node` overrides it.
  std::string base_node;
  double relative_gap = 1e-6;
  std::uint32_t iterations_max = 1000;
  double value_of_time_per_h = 0;  // needed only when a variant has tolls
  std::uint32_t top = 10;          // most affected links and OD pairs reported
  // The `environment:` section (twin/env_scenario.hpp); computed only when enabled.
  env::environment_settings environment;
  std::vector<variant_spec> variants;
};

// A scenario and the city it is based on.
struct scenario {
  scenario_spec spec;
  city base;
  // The live state the base is forked from, checked against `base` (check_live_snapshot); the
  // run perturbs the bundle with it (twin/live_base.hpp) before the baseline.
  std::optional<live_snapshot> live;
  live_base_options live_options;
};

// Reads a scenario file and its base bundle. Every name (link key, bridge, district, zone, node)
// is checked against the bundle; errors name the file, the line and the field.
expected<scenario, load_error> load_scenario(const std::filesystem::path& file);
// The same with an already loaded base (the file's `base` must still name a bundle folder).
expected<scenario_spec, load_error> load_scenario_spec(const std::filesystem::path& file,
                                                       const city& base);

// ---------------------------------------------------------------------------------------------
// Results.

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
  std::vector<new_link> added;  // links.size() = base links + added.size()
  network_result result;
};

struct scenario_result {
  network_result baseline;
  std::vector<variant_result> variants;
  // The receptor grid of the environment; empty when it is not enabled.
  std::shared_ptr<const env::receptor_grid> grid;
  // What the live state changed in the base; empty when the base is the bundle alone.
  std::optional<live_base_report> live_base;
  // A live base with the environment: the weather and backgrounds the live twin set, and the
  // modelled baseline against the observations (twin/env_scenario.hpp).
  std::optional<env::live_coupling> live_environment;
};

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

// Comparisons between a variant and the baseline.
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
