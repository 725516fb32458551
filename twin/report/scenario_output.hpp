#pragma once

// What a scenario run produces: summary.json, links.csv, districts.csv, links.geojson, one SVG
// map per variant, and the comparison table printed on a terminal. Every writer is a pure
// function of the scenario and its result, so the files are as reproducible as the numbers.

#include <filesystem>
#include <string>
#include <vector>

#include "twin/base/expected.hpp"
#include "twin/scenario/scenario.hpp"

namespace twin {

// Everything of the run, per variant: totals, districts, links, most affected links and OD pairs,
// disconnected pairs, the solver's iterations, gap and time.
std::string summary_json(const scenario& s, const scenario_result& r);
// One row per link per variant, with the baseline's values and the deltas.
std::string links_csv(const scenario& s, const scenario_result& r);
// One row per district per variant.
std::string districts_csv(const scenario& s, const scenario_result& r);
// One LineString feature per link (WGS84), the flows of every variant and their deltas as
// properties; new links of a variant are extra features.
std::string links_geojson(const scenario& s, const scenario_result& r);
// The network of variant `v` coloured by its change in flow against the baseline.
std::string variant_svg(const scenario& s, const scenario_result& r, std::size_t v);
// The results as metrics labelled `scenario` and `variant` ("baseline" for the baseline), city-wide
// and per `district`, in the Prometheus text exposition format: scenario.prom, for the textfile
// collector of a node exporter, so that Grafana can chart scenarios beside the live city.
std::string metrics_text(const scenario& s, const scenario_result& r);
// A readable comparison for a terminal; loud about disconnected OD pairs.
std::string comparison_table(const scenario& s, const scenario_result& r);

// Writes every file into `dir` (created if needed); returns the paths written, or why not.
expected<std::vector<std::filesystem::path>, std::string> write_outputs(
    const std::filesystem::path& dir, const scenario& s, const scenario_result& r);

}  // namespace twin
