#pragma once

// The environment of a scenario: from the traffic of one solved network (the baseline or a
// variant) to the air people breathe and the noise they hear, on the receptor grid of the city.
//
// For one solved network:
//   1. every link gets the fleet mix of its district after the variant's policies (ban, electrify,
//      low-emission zone, applied in file order to the districts they name); a ban or a zone whose
//      excluded vehicles stay out removes their vehicle-km from those links (emission.hpp), the
//      rest of the traffic is the assignment's: policies do not re-route;
//   2. link_emissions() from the link's flow and equilibrium speed and its length; the link is a
//      straight line source between its end nodes at ground level with the vehicle-wake initial
//      sigma-z, emitting the link's g/s spread evenly over the straight segment (the bundle's
//      length follows the road's bends: the mass is kept, its spread is simplified);
//   3. the city's stacks (as perturbed) are point sources with Briggs plume rise;
//   4. disperse() on the grid; NO2 = no2_from_nox x dispersed NOx + background NO2, PM2.5 =
//      dispersed PM2.5 + background PM2.5 (ug/m3);
//   5. per district: mean over its cells, population-weighted exposure, people above each
//      guideline; CO2 (t/h), NOx and PM2.5 (kg/h) emitted by its links and stacks;
//   6. noise: each cell's A-weighted level from the links within noise_distance_max_m (noise.hpp),
//      Lden from the period flows (period factors x the modelled hour's flow, same speed: an upper
//      estimate at night when roads are faster but the shape of CNOSSOS makes the speed effect
//      small next to the flow's), population-weighted mean of the cells' Lden per district.
//
// A scenario is one steady hour, so the guidelines it is compared with by default are the WHO 2021
// 24-hour guidelines (PM2.5 15, NO2 25 ug/m3); the annual guidelines (5, 10) are reported too, as
// "what if every hour were like this one".
//
// NO2 from NOx: the ambient ratio method of the US EPA's Guideline on Air Quality Models
// (40 CFR Part 51 Appendix W, Tier 2 ARM): a fixed NO2/NOx ratio, 0.75 by default as in the 2005
// Guideline's annual default; ARM2 (2017) bounds the ratio between 0.5 and 0.9, which the file may
// pick instead. Photochemistry and ozone limitation are not modelled.
//
// Everything is deterministic: the same inputs give the same numbers bit for bit, whatever runs the
// grid (one thread, or one actor per district: each receptor's sum runs over the same sources in
// the same order).

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "twin/base/time.hpp"
#include "twin/city/city.hpp"
#include "twin/city/fleet.hpp"
#include "twin/env/dispersion.hpp"
#include "twin/env/emission.hpp"
#include "twin/env/noise.hpp"
#include "twin/env/receptor_grid.hpp"
#include "twin/env/types.hpp"
#include "twin/env/weather.hpp"
#include "twin/live/snapshot.hpp"

namespace twin::env {

// Bounds of what a scenario file may ask for.
inline constexpr std::size_t env_sources_max = 256;  // stacks of the city plus added ones
// Links farther than this from a cell are not heard there (a road at 500 m is at least ~25 dB
// below the same road at 10 m: below any nearer street's level).
inline constexpr double noise_distance_max_m = 500;

struct air_background {
  double pm25_ug_m3 = 0;
  double no2_ug_m3 = 0;
};

// Which pollutants a background of the file names explicitly (an explicit value wins over the live
// twin's).
struct background_given {
  bool pm25 = false;
  bool no2 = false;
};

struct guideline {
  double pm25_ug_m3 = 0;
  double no2_ug_m3 = 0;
};
inline constexpr guideline who_2021_24h{15, 25};
inline constexpr guideline who_2021_annual{5, 10};

// The `environment:` section of a scenario file; every field is optional.
struct environment_settings {
  bool enabled = false;  // the section is present, or a variant has an environmental perturbation
  // env.hpp's defaults (3 m/s from the south, class D); without a mixing height in the file, the
  // class's default of weather.hpp (default_mixing_height_m), recomputed when a variant changes
  // the wind or the class.
  weather w;
  bool mixing_height_given = false;
  // What the file's weather section says, to derive the weather again with a live wind: the wind
  // fields the file gives explicitly win over the live twin's; a derived stability class is
  // derived again from the live wind speed.
  bool wind_speed_given = false;
  bool wind_from_given = false;
  std::optional<station_report> station;  // empty without a weather section
  time_ms station_time = 0;               // for a derived class
  // City-wide background (default none: the maps then show the modelled increment only), and
  // per-district overrides by district id (absent: the city-wide value).
  air_background background;
  std::vector<std::optional<air_background>> district_background;
  background_given background_set;                        // city-wide
  std::vector<background_given> district_background_set;  // by district id
  grid_options grid;                                      // 100 m cells, 500 m margin
  sigma_scheme scheme = sigma_scheme::briggs_urban;
  double no2_from_nox = 0.75;
  double receptor_height_m = 1.5;
  guideline short_term = who_2021_24h;
  guideline annual = who_2021_annual;
  period_factors noise_periods;
};

// ---------------------------------------------------------------------------------------------
// Perturbations of a variant.

enum class env_change_kind : std::uint8_t {
  weather,            // partial override of the weather
  background,         // city-wide or per-district background
  ban,                // vehicles out of districts
  electrify,          // a share of a category's vehicle-km becomes electric
  low_emission_zone,  // vehicles older than a standard out of (or upgraded in) districts
  add_source,         // a new stack
  remove_source,      // a stack of the city removed
  source,             // a stack's emissions scaled
};
std::string_view to_string(env_change_kind k);

struct weather_change {
  std::optional<double> wind_speed_m_s;
  std::optional<double> wind_from_deg;
  std::optional<stability> stability_class;
  std::optional<double> mixing_height_m;
  std::optional<double> air_temperature_k;
};

struct env_perturbation {
  env_change_kind kind = env_change_kind::weather;
  std::string target;  // for reports
  std::size_t line = 0;
  weather_change weather;                         // weather
  std::optional<double> pm25_ug_m3;               // background
  std::optional<double> no2_ug_m3;                // background
  std::vector<district_id> districts;             // background, ban, electrify, low_emission_zone;
                                                  // empty: every district
  vehicle_filter vehicles;                        // ban; electrify (category only)
  double share = 0;                               // electrify
  euro_standard minimum = euro_standard::euro_6;  // low_emission_zone
  lez_replacement replacement = lez_replacement::stay_out;
  emission_source source;  // add_source
  std::string key;         // remove_source, source
  double factor = 1;       // source
};

// The weather after a variant's weather changes, in order.
weather apply_weather(const environment_settings& settings,
                      std::span<const env_perturbation> changes);

// ---------------------------------------------------------------------------------------------
// Computation.

// One link of a solved network, as the environment sees it.
struct link_traffic {
  lon_lat from;
  lon_lat to;
  double length_m = 0;
  district_id district;
  double flow_veh_h = 0;  // 0 when closed
  double speed_kmh = 0;
};

// Computes the grid: adds every emitter's concentration (g/m3) at every cell to out[p] (one entry
// per cell; an empty span skips the pollutant). The default runs disperse() over every cell; the
// actors give each district's cells to the district's worker.
using grid_function =
    std::function<void(const weather&, const dispersion_options&, std::span<const point_emitter>,
                       std::span<const line_emitter>, const receptor_grid&,
                       std::array<std::span<double>, pollutant_count>)>;
void disperse_on_grid(const weather& w, const dispersion_options& o,
                      std::span<const point_emitter> points, std::span<const line_emitter> lines,
                      const receptor_grid& grid,
                      std::array<std::span<double>, pollutant_count> out);

struct air_indicators {
  double mean_ug_m3 = 0;      // over the district's cells
  double exposure_ug_m3 = 0;  // population-weighted mean; the mean where nobody lives
  double max_ug_m3 = 0;
  double people_above_short_term = 0;  // above the 24-hour guideline
  double share_above_short_term = 0;   // of the population; 0 where nobody lives
  double people_above_annual = 0;
  double share_above_annual = 0;
};

struct district_environment {
  std::size_t cells = 0;
  double population = 0;
  air_indicators pm25;
  air_indicators no2;
  double co2_t_h = 0;  // emitted by the district's links and stacks
  double nox_kg_h = 0;
  double pm25_kg_h = 0;
  double road_nox_kg_h = 0;  // of which by road traffic
  double lden_db = 0;        // population-weighted mean of the cells' Lden (the mean if nobody)
};

struct environment_result {
  bool traffic_reused = false;  // a variant with environmental changes only: the baseline's traffic
  weather w;                    // as used
  std::vector<double> pm25_ug_m3;  // per cell, background included
  std::vector<double> no2_ug_m3;
  std::vector<double> lden_db;                  // per cell; -infinity where no road is heard
  std::vector<district_environment> districts;  // by district id
  district_environment city;                    // every district's cells and emissions
  std::size_t sources = 0;                      // stacks dispersed
  std::uint64_t pairs = 0;                      // source-receptor pairs
};

// The environment of one solved network. `changes` are the variant's (empty for the baseline).
// Throws nothing; the settings and changes are the validated ones of a loaded scenario.
environment_result compute_environment(const city& c, const environment_settings& settings,
                                       std::span<const env_perturbation> changes,
                                       std::span<const link_traffic> links,
                                       const receptor_grid& grid,
                                       const grid_function& on_grid = {});

// The fleet mix and the share of the flow left on the road in each district after the changes.
struct district_fleet {
  fleet_mix mix;
  double flow_factor = 1;
};
std::vector<district_fleet> district_fleets(const city& c,
                                            std::span<const env_perturbation> changes);

// The stacks after the changes (add, remove, scale), in city order then added order.
std::vector<emission_source> perturbed_sources(const city& c,
                                               std::span<const env_perturbation> changes);

// ---------------------------------------------------------------------------------------------
// Coupling to the live twin.
//
// A scenario that starts from the live twin (a live snapshot) takes its weather and its background
// air from the district actors' latest readings:
//
//  - weather: the wind speed and the direction the wind comes from are the fresh means of the
//    wind_speed and wind_direction sensors (fresh_mean: directions as unit vectors). A value the
//    file gives explicitly wins; a stability class the file derives from cloud and time is
//    derived again with the live wind speed, and a mixing height the file does not give follows
//    the class and the wind as usual.
//  - background: a modelled grid is the local contribution of traffic and stacks; a sensor sees
//    that contribution plus the air that comes from outside the model (regional transport,
//    secondary aerosol, sources the bundle does not list). So each district's background is
//        max(0, mean observed - mean modelled local contribution)
//    over the district's fresh sensors, the local contribution read at each sensor's grid cell
//    under the live weather. A district without a fresh sensor of the pollutant (and the cells of
//    no district) gets the city-wide value max(0, median over every fresh sensor of (observed -
//    local)): the median, because one sensor beside a street canyon the model resolves at 100 m
//    must not raise the background of the whole city. The observed value is each sensor's latest
//    reading, the same value the comparison below uses, so that with one sensor in a district the
//    modelled baseline equals the observation there (unless the clamp at 0 acted: the model then
//    over-predicts). An explicit background of the file wins: city-wide per pollutant (no fit
//    for that pollutant), or per district and pollutant.
//  - stale sensors (older than the live base's staleness bound) and sensors that never reported
//    are ignored and counted; so are sensors outside the receptor grid.
//
// The baseline is then compared with the observations: at every fresh PM2.5 and NO2 sensor, the
// modelled baseline concentration (background included) of its cell against its reading.

// One fresh air-quality sensor of the live snapshot against the modelled baseline.
struct observed_sensor {
  std::string key;
  pollutant p = pollutant::pm25;  // pm25, or nox for NO2
  district_id district;
  lon_lat position;
  std::optional<std::uint32_t> cell;  // empty: outside the receptor grid (not compared)
  double observed_ug_m3 = 0;
  double local_ug_m3 = 0;     // the modelled traffic and stacks at the cell
  double modelled_ug_m3 = 0;  // the modelled baseline at the cell, background included
  time_ms time = 0;
};

// Modelled against observed over the sensors of one pollutant inside the grid; the bias is
// modelled - observed.
struct observed_summary {
  std::size_t sensors = 0;
  double mean_observed_ug_m3 = 0;
  double mean_modelled_ug_m3 = 0;
  double mean_bias_ug_m3 = 0;
  double rmse_ug_m3 = 0;
  std::optional<double> correlation;  // Pearson's r, with at least 3 sensors and some spread
};
observed_summary summarise_observed(std::span<const observed_sensor> sensors, pollutant p);

// How the sensors of one kind were used.
struct live_sensor_count {
  std::size_t fresh = 0;
  std::size_t stale = 0;         // ignored: older than the staleness bound
  std::size_t silent = 0;        // ignored: never reported
  std::size_t outside_grid = 0;  // fresh air-quality sensors the grid does not cover
};

enum class value_source : std::uint8_t { file, live, none };  // none: the default, no sensor
std::string_view to_string(value_source s);

// The background of one pollutant as fitted.
struct background_fit {
  value_source city = value_source::none;  // file: explicit in the file, nothing fitted
  double city_ug_m3 = 0;                   // the value of districts without a fit
  // By district id: the value applied and where it came from (live: the district's own sensors).
  std::vector<double> district_ug_m3;
  std::vector<value_source> district_source;
};

struct live_coupling {
  std::string node;
  std::optional<live_snapshot_file> snapshot;  // the live state came from a snapshot file
  time_ms as_of = 0;
  std::optional<time_ms> stale_after_ms;  // empty: each sensor's own bound (2 x its cadence)
  value_source wind_speed = value_source::none;
  value_source wind_from = value_source::none;
  live_sensor_count pm25_sensors, no2_sensors, wind_speed_sensors, wind_direction_sensors;
  background_fit pm25_background, no2_background;
  // The settings every run used: the file's with the live weather and backgrounds.
  environment_settings settings;
  std::vector<observed_sensor> sensors;  // PM2.5 then NO2, in snapshot order
  observed_summary pm25, no2;
};

// Step 1: the live weather; the backgrounds the live twin will set are 0 in the settings, so that
// a run with them gives the local contribution. `origin` is the receptor grid's (for a derived
// stability class). Sensors are those of `c` by key; the snapshot was checked against it.
live_coupling couple_weather(const city& c, const environment_settings& settings,
                             const live_snapshot& s, std::optional<time_ms> stale_after_ms,
                             const receptor_grid& grid);
// Step 2: the backgrounds from the baseline computed with step 1's settings.
void fit_background(live_coupling& lc, const city& c, const receptor_grid& grid,
                    const environment_result& local);
// Step 3: the modelled baseline (computed with step 2's settings) at every sensor.
void compare_observed(live_coupling& lc, const environment_result& baseline);

// ---------------------------------------------------------------------------------------------
// The environment of a scenario's runs: the one entry point of the runner.

// What every run of a scenario shares: the receptor grid, the settings every run is computed
// under (the file's, or the file's with the live twin's weather and backgrounds) and the grid
// function.
struct scenario_environment {
  std::shared_ptr<const receptor_grid> grid;
  environment_settings settings;
  grid_function on_grid;
  // A live base: where its weather and backgrounds came from, and the modelled baseline against
  // the observations.
  std::optional<live_coupling> live;
  environment_result baseline;
};

// The baseline's environment. Builds the grid (its shape was checked when the scenario was
// loaded); with a live snapshot, steps 1-3 above: the live weather, the backgrounds fitted to the
// local contribution at the sensors and the modelled baseline against them, the two baselines
// under one weather sharing one dispersion of the grid.
scenario_environment start_environment(const city& c, const environment_settings& settings,
                                       const live_snapshot* live,
                                       std::optional<time_ms> stale_after_ms,
                                       std::span<const link_traffic> traffic,
                                       const grid_function& on_grid);

// The environment of a variant under the scenario's settings, with its own changes.
environment_result variant_environment(const scenario_environment& e, const city& c,
                                       std::span<const env_perturbation> changes,
                                       std::span<const link_traffic> traffic);

// The cell of the grid holding a position; empty outside the grid.
std::optional<std::uint32_t> cell_holding(const receptor_grid& grid, lon_lat position);

}  // namespace twin::env
