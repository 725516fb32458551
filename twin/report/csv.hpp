#pragma once

// The CSV tables of a scenario run: links.csv, districts.csv and, with an environment,
// grid_<run>.csv.

#include <cstddef>
#include <string>

#include "twin/scenario/scenario.hpp"

namespace twin {

// One row per link per variant, with the baseline's values and the deltas.
std::string links_csv(const scenario& s, const scenario_result& r);
// One row per district per variant.
std::string districts_csv(const scenario& s, const scenario_result& r);

}  // namespace twin

namespace twin::env {

// The cells of run `run` (0 the baseline, v + 1 variant v) with PM2.5, NO2 and Lden, and for a
// variant the deltas against the baseline.
std::string grid_csv(const scenario& s, const scenario_result& r, std::size_t run);

}  // namespace twin::env
