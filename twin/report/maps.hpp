#pragma once

// The SVG maps of a scenario run: per variant the road network coloured by its change in flow
// (<variant>.svg), and per run the heat maps of PM2.5 and NO2 (heatmap_<run>_<pollutant>.svg, and
// for a variant its change against the baseline, ..._delta.svg).
//
// Heat-map colour scales:
//  - concentrations: a sequential light-yellow to dark-red scale (the 9 classes of ColorBrewer's
//    YlOrRd, interpolated) from 0 to a round value at or above the 99th percentile of the cells of
//    every run, so that the maps of one scenario compare; the guideline is marked on the legend;
//  - deltas (a variant minus the baseline): a diverging blue - white - red scale symmetric about 0,
//    to a round value at or above the 99th percentile of |delta| (blue: cleaner air).

#include <cstddef>
#include <string>

#include "twin/env/types.hpp"
#include "twin/scenario/scenario.hpp"

namespace twin {

// The network of variant `v` coloured by its change in flow against the baseline.
std::string variant_svg(const scenario& s, const scenario_result& r, std::size_t v);

}  // namespace twin

namespace twin::env {

// The heat map of one pollutant (pm25 or nox, the latter drawn as NO2) of one run (0 the
// baseline, v + 1 variant v); `delta`: the run minus the baseline (variants only).
std::string heat_map_svg(const scenario& s, const scenario_result& r, std::size_t run, pollutant p,
                         bool delta);

}  // namespace twin::env
