#pragma once

// Everything a scenario run produces, one header per kind of file. Every writer is a pure
// function of the scenario and its result (whose comparisons were computed once by the run), so
// the files are as reproducible as the numbers.

#include "twin/report/csv.hpp"
#include "twin/report/geojson.hpp"
#include "twin/report/maps.hpp"
#include "twin/report/metrics.hpp"
#include "twin/report/outputs.hpp"
#include "twin/report/summary.hpp"
#include "twin/report/table.hpp"
