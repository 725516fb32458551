#pragma once

// The scenario file: a base city and variants, each a list of perturbations (closures, capacity
// and speed changes, demand changes, new links, tolls) and environmental perturbations (weather,
// background, ban, electrify, low_emission_zone, add_source, remove_source, source). Reading it
// resolves every name against the base bundle; errors name the file, the line and the field.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

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
  // add_link: a new link in bundle terms (node numbers resolved); its id is given when a
  // variant's network is built.
  link added;
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
  // `base.snapshot`: a node's snapshot file (resolved against the file's folder) whose state the
  // base is forked from, as from a node's; empty: none. Never together with base_node;
  // `--snapshot` overrides it.
  std::filesystem::path base_snapshot;
  double relative_gap = 1e-6;
  std::uint32_t iterations_max = 1000;
  double value_of_time_per_h = 0;  // needed only when a variant has tolls
  std::uint32_t top = 10;          // most affected links and OD pairs reported
  // The `environment:` section (twin/scenario/environment.hpp); computed only when enabled.
  env::environment_settings environment;
  std::vector<variant_spec> variants;
};

// A scenario and the city it is based on.
struct scenario {
  scenario_spec spec;
  city base;
  // The live state the base is forked from, checked against `base` (check_live_snapshot); the
  // run perturbs the bundle with it (twin/scenario/live_base.hpp) before the baseline.
  std::optional<live_snapshot> live;
  live_base_options live_options;
};

// Forks the scenario from a live snapshot of its base city: the snapshot is checked against the
// bundle (check_live_snapshot) and kept, and its node (its file, for one read from a snapshot
// file) becomes the scenario's base node (base snapshot). A snapshot
// of another city, or an inconsistent one, is refused with why and leaves the scenario as it was.
expected<bool, live_base_error> attach_live_base(scenario& s, live_snapshot live);

// Reads a scenario file and its base bundle. Every name (link key, bridge, district, zone, node)
// is checked against the bundle; errors name the file, the line and the field.
expected<scenario, load_error> load_scenario(const std::filesystem::path& file);
// The same with an already loaded base (the file's `base` must still name a bundle folder).
expected<scenario_spec, load_error> load_scenario_spec(const std::filesystem::path& file,
                                                       const city& base);

}  // namespace twin
