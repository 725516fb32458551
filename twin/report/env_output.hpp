#pragma once

// What the environment of a scenario adds to its outputs: per run (the baseline and each variant)
// grid_<run>.csv and grid_<run>.geojson (the cells with PM2.5, NO2 and Lden, and for a variant the
// deltas against the baseline), heat maps (SVG) of PM2.5 and NO2 with the district boundaries,
// the "environment" part of summary.json, the environmental rows of the comparison table and the
// environmental metrics of scenario.prom. Pure functions of the scenario and its result.
//
// Heat-map colour scales:
//  - concentrations: a sequential light-yellow to dark-red scale (the 9 classes of ColorBrewer's
//    YlOrRd, interpolated) from 0 to a round value at or above the highest cell of every run, so
//    that the maps of one scenario compare; the guideline is marked on the legend;
//  - deltas (a variant minus the baseline): a diverging blue - white - red scale symmetric about 0,
//    to a round value at or above the largest |delta| (blue: cleaner air).

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "twin/env/types.hpp"
#include "twin/scenario/scenario.hpp"

namespace twin::env {

// Runs are numbered as in metrics: 0 the baseline, v + 1 variant v.
std::size_t run_count(const scenario_result& r);
std::string run_name(const scenario_result& r, std::size_t run);
const environment_result& run_environment(const scenario_result& r, std::size_t run);

std::string grid_csv(const scenario& s, const scenario_result& r, std::size_t run);
std::string grid_geojson(const scenario& s, const scenario_result& r, std::size_t run);
// The heat map of one pollutant (pm25 or nox, the latter drawn as NO2) of one run; `delta`: the
// run minus the baseline (variants only).
std::string heat_map_svg(const scenario& s, const scenario_result& r, std::size_t run, pollutant p,
                         bool delta);

// summary.json's "environment": the settings, and per run the city and district figures (with
// deltas against the baseline for variants).
nlohmann::json environment_json(const scenario& s, const scenario_result& r);
// The environmental rows of variant v's part of the comparison table.
std::string environment_table(const scenario& s, const scenario_result& r, std::size_t v);
// A live base's lines of the comparison table: where the wind and the backgrounds came from, and
// the modelled baseline against every fresh PM2.5 and NO2 sensor; empty without a live base.
std::string observed_table(const scenario& s, const scenario_result& r);
// The environmental gauges, labelled scenario / variant / district / pollutant.
std::string environment_metrics(const scenario& s, const scenario_result& r);

// Every environmental file of the run, as (file name, content); empty without an environment.
std::vector<std::pair<std::string, std::string>> environment_files(const scenario& s,
                                                                   const scenario_result& r);

}  // namespace twin::env
