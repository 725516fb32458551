#pragma once

// Every file of a scenario run, written into one folder.

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "twin/base/expected.hpp"
#include "twin/scenario/scenario.hpp"

namespace twin {

// Writes summary.json, links.csv, districts.csv, links.geojson, scenario.prom, <variant>.svg and
// the environmental files into `dir` (created if needed); returns the paths written, or why not.
expected<std::vector<std::filesystem::path>, std::string> write_outputs(
    const std::filesystem::path& dir, const scenario& s, const scenario_result& r);

}  // namespace twin

namespace twin::env {

// Every environmental file of the run, as (file name, content): per run grid_<run>.csv and
// .geojson and the heat maps; empty without an environment.
std::vector<std::pair<std::string, std::string>> environment_files(const scenario& s,
                                                                   const scenario_result& r);

}  // namespace twin::env
