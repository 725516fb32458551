#pragma once

// The GeoJSON layers of a scenario run (WGS84): links.geojson and, with an environment,
// grid_<run>.geojson.

#include <cstddef>
#include <string>

#include "twin/scenario/scenario.hpp"

namespace twin {

// One LineString feature per link, the flows of every variant and their deltas as properties;
// the links a variant adds are extra features.
std::string links_geojson(const scenario& s, const scenario_result& r);

}  // namespace twin

namespace twin::env {

// One Polygon feature per cell of run `run`, as grid_csv().
std::string grid_geojson(const scenario& s, const scenario_result& r, std::size_t run);

}  // namespace twin::env
