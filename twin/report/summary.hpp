#pragma once

// summary.json: everything of the run, per variant: totals, districts, links, the most affected
// links and OD pairs, disconnected pairs, the solver's iterations, gap and time, and with an
// environment its settings and per run the city and district figures.

#include <nlohmann/json.hpp>
#include <string>

#include "twin/scenario/scenario.hpp"

namespace twin {

std::string summary_json(const scenario& s, const scenario_result& r);

}  // namespace twin

namespace twin::env {

// summary.json's "environment": the settings, and per run the city and district figures (with
// deltas against the baseline for variants).
nlohmann::json environment_json(const scenario& s, const scenario_result& r);

}  // namespace twin::env
