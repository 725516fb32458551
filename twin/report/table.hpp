#pragma once

// The comparison table of a scenario run, for a terminal: the live base, the solver, then per
// variant the city and its districts against the baseline, the environment, the most affected
// links and OD pairs; loud about disconnected OD pairs.

#include <cstddef>
#include <string>

#include "twin/scenario/scenario.hpp"

namespace twin {

std::string comparison_table(const scenario& s, const scenario_result& r);

}  // namespace twin

namespace twin::env {

// The environmental rows of variant v's part of the comparison table.
std::string environment_table(const scenario& s, const scenario_result& r, std::size_t v);
// A live base's lines of the comparison table: where the wind and the backgrounds came from, and
// the modelled baseline against every fresh PM2.5 and NO2 sensor; empty without a live base.
std::string observed_table(const scenario& s, const scenario_result& r);

}  // namespace twin::env
