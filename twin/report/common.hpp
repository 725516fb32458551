#pragma once

// What several writers of a scenario's files share: the runs (the baseline, then each variant),
// percentages, labels and the warning about disconnected OD pairs.

#include <cstddef>
#include <string>
#include <string_view>

#include "twin/scenario/scenario.hpp"

namespace twin {

// Percentage change with one decimal and a sign ("+3.2%"), or empty when the baseline is zero.
std::string percent(double before, double after);
// A zone's number as written in the bundle.
std::string zone_label(const city& c, zone_id z);
// A variant with environmental changes only carries the baseline's traffic, not a solve of its own.
bool traffic_reused(const variant_result& v);
// "N OD pair(s) disconnected: X veh/h of demand cannot be assigned"; empty when none is.
std::string warning_text(const network_result& n);

}  // namespace twin

namespace twin::env {

// Runs are numbered as in metrics: 0 the baseline, v + 1 variant v.
std::size_t run_count(const scenario_result& r);
std::string run_name(const scenario_result& r, std::size_t run);
const environment_result& run_environment(const scenario_result& r, std::size_t run);

// PM2.5 or NO2 (the latter computed as NOx): the values, the name in files and the title.
const std::vector<double>& values_of(const environment_result& e, pollutant p);
std::string_view name_of(pollutant p);
std::string_view title_of(pollutant p);
// The key of the district holding a cell; empty for a cell in none.
std::string district_key(const city& c, const receptor_cell& cell);

}  // namespace twin::env
